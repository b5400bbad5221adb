variable "database_url" {
  type      = string
  sensitive = true
}

# Review what upgrading the database to the newest revisions would do, without running it.
data "alembic_review" "production" {
  url = var.database_url
}

# One line per finding: revision, category, code and what the operation does.
output "review_findings" {
  value = [
    for f in data.alembic_review.production.findings :
    "${f.revision} ${f.category} ${f.code}: ${f.operation}"
  ]
}

# The findings that lose data; a `check` block (Terraform 1.5+) can assert this list is empty.
output "destructive_findings" {
  value = [for f in data.alembic_review.production.findings : f.code if f.category == "destructive"]
}
