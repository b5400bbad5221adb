variable "database_url" {
  type      = string
  sensitive = true
}

# Review what upgrading the database to the newest revisions would do, without running it.
data "alembic_review" "production" {
  url = var.database_url
}

# Fail `terraform plan` in CI when a pending migration would drop data.
check "no_data_loss" {
  assert {
    condition = length([for f in data.alembic_review.production.findings : f if f.category == "destructive"]) == 0
    error_message = join("\n", [
      for f in data.alembic_review.production.findings :
      "${f.revision} ${f.code}: ${f.operation}" if f.category == "destructive"
    ])
  }
}

output "review_findings" {
  value = [for f in data.alembic_review.production.findings : "${f.revision} ${f.category} ${f.code} ${coalesce(f.table, "-")}"]
}
