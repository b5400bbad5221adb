"""Managed resource types, one module per Terraform type (``upgrade.py`` is ``alembic_upgrade``)."""
