variable "database_url" {
  type      = string
  sensitive = true
}

# Look at a database this configuration does not manage: where it is, and what upgrading it to
# the newest revisions would run. Nothing is written to the database.
data "alembic_current" "production" {
  target = "heads"
  url    = var.database_url
}

output "production_revision" {
  value = data.alembic_current.production.revision
}

# "upgrade", "downgrade", or "none" when the database is at the target.
output "production_direction" {
  value = data.alembic_current.production.direction
}

output "pending_migrations" {
  value = [for m in data.alembic_current.production.pending : "${m.revision}: ${m.message}"]
}
