variable "database_url" {
  type      = string
  sensitive = true
}

# Keep the database at the newest revision of every branch.
resource "alembic_upgrade" "schema" {
  target = "heads"

  # Given to env.py as sqlalchemy.url, which is what the env.py written by `alembic init` reads.
  # Never shown in plans or logs.
  url = var.database_url

  # A migration stuck behind another session's long transaction gives up after 5 seconds
  # instead of holding every query on that table up behind it; apply again later.
  statement_lock_timeout = "5s"
}

output "schema_revision" {
  value = alembic_upgrade.schema.revision
}
