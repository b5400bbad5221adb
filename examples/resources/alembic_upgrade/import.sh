# The import ID is the target to keep the database at: heads, head, a revision id, a branch
# label or branch@head. Import itself gets no configuration: when the resource sets url,
# environment or python, the first plan after the import reads the database with them (it shows
# an in-place update that records those settings and runs what is pending).
terraform import alembic_upgrade.schema heads

# With Terraform 1.5 or newer, an import block does the same inside plan and apply:
#   import {
#     to = alembic_upgrade.schema
#     id = "heads"
#   }
