# The import ID is the target the database was stamped at: a revision id, head, heads, a branch
# label or branch@head. Import itself gets no configuration: when the resource sets url,
# environment or python, the first plan after the import reads the database with them.
terraform import alembic_stamp.baseline 1975ea83b712
