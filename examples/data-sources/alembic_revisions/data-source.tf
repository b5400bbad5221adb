# Read the project's script directory; no database is involved.
data "alembic_revisions" "project" {}

# The newest revision of every branch, for example to pin what a release deploys.
output "heads" {
  value = data.alembic_revisions.project.heads
}

# Each branch label and the revision that declares it.
output "branches" {
  value = data.alembic_revisions.project.branches
}

# Every revision with its message, from the base to the heads: a changelog of the schema.
output "changelog" {
  value = [for r in data.alembic_revisions.project.revisions : "${r.revision}: ${r.message}"]
}
