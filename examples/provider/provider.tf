terraform {
  required_providers {
    alembic = {
      source  = "terraform.local/alembic/alembic"
      version = "0.1.0"
    }
  }
}

# The Alembic project lives next to the service's code; migrations run in its virtualenv.
provider "alembic" {
  project_root = "${path.module}/../service"
  python       = ["${path.module}/../service/.venv/bin/python"]
}
