# The import ID is the target to keep the database at: heads, head, a revision id, a branch
# label or branch@head. The database is read with the provider block's settings: set its url,
# or DATABASE_URL in the environment Terraform runs in, when env.py reads that.
terraform import alembic_upgrade.schema heads
