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

# A model change without a migration fails this check (Terraform 1.5+) with one line each.
check "models_match_database" {
  assert {
    condition     = length(data.alembic_model_diff.models.differences) == 0
    error_message = join("\n", [for d in data.alembic_model_diff.models.differences : d.text])
  }
}
