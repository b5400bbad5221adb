# The import ID is the target the database was stamped at: a revision id, head, heads, a branch
# label or branch@head. The database is read with the provider block's settings: set its url,
# or DATABASE_URL in the environment Terraform runs in, when env.py reads that.
terraform import alembic_stamp.baseline 1975ea83b712
