# One Alembic project migrating a database per tenant, with no password in state or plan files.
# Write-only arguments need Terraform 1.11 or newer.
terraform {
  required_version = ">= 1.11"
  required_providers {
    alembic = {
      source = "terraform.local/alembic/alembic"
    }
  }
}

variable "tenant_urls" {
  description = "Database URL of each tenant, password included."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

provider "alembic" {
  project_root = "${path.module}/service"
}

resource "alembic_upgrade" "tenant" {
  for_each = toset(["acme", "globex"])

  url_wo         = var.tenant_urls[each.key]
  url_wo_version = 1 # change it when a tenant's URL names another database
}
