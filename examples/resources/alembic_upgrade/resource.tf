variable "database_url" {
  type      = string
  sensitive = true
}

# Keep the database at the newest revision of every branch.
resource "alembic_upgrade" "schema" {
  target = "heads"

  # Read by env.py; never shown in plans or logs.
  environment = {
    DATABASE_URL = var.database_url
  }
}

output "schema_revision" {
  value = alembic_upgrade.schema.revision
}
