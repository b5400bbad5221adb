"""Data source types, one module per Terraform type (``revisions.py`` is ``alembic_revisions``)."""
