# A small Alembic project migrated by Terraform against a SQLite file.
terraform {
  required_providers {
    alembic = {
      source  = "terraform.local/alembic/alembic"
      version = "0.1.0"
    }
  }
}

provider "alembic" {
  project_root = "${path.module}/project"
}

resource "alembic_upgrade" "demo" {
  target = "heads"
  environment = {
    DATABASE_URL = "sqlite:///${abspath(path.module)}/demo.db"
  }
}

output "revision" {
  value = alembic_upgrade.demo.revision
}
