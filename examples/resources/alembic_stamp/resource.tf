variable "database_url" {
  type      = string
  sensitive = true
}

# Adopt a database whose tables were created before the project used Alembic: mark it as being
# at the baseline revision without running that migration. Adding revisions later never stamps
# it again; alembic_upgrade runs them.
resource "alembic_stamp" "baseline" {
  target = "1975ea83b712"

  # Given to env.py as sqlalchemy.url; never shown in plans or logs.
  url = var.database_url
}

# Every revision after the baseline runs as a migration, once the stamp is in place.
resource "alembic_upgrade" "schema" {
  target = "heads"
  url    = var.database_url

  depends_on = [alembic_stamp.baseline]
}
