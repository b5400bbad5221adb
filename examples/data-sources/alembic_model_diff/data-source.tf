variable "database_url" {
  type      = string
  sensitive = true
}

resource "alembic_upgrade" "schema" {
  url = var.database_url
}

# Compare env.py's target_metadata with the database once the migrations have run.
data "alembic_model_diff" "models" {
  url        = var.database_url
  depends_on = [alembic_upgrade.schema]
}

# One line per difference; a `check` block (Terraform 1.5+) can assert this list is empty.
output "model_differences" {
  value = [for d in data.alembic_model_diff.models.differences : d.text]
}

# The columns the models declare that no migration created.
output "columns_without_migration" {
  value = [
    for d in data.alembic_model_diff.models.differences :
    "${d.table}.${d.column}" if d.kind == "add_column"
  ]
}
