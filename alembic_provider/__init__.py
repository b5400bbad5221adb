"""terraform-provider-alembic: a Terraform provider that runs Alembic migrations.

The package is layered (see DESIGN.md): ``plugin`` speaks Terraform's protocol, ``cty`` converts
values, ``provider`` dispatches to ``resources`` and ``data_sources`` with the Terraform contract
that ``framework`` owns; they decide with ``statemachine`` and act through ``executor`` and
``proxy``. Importing this package must stay
cheap and must never import alembic or SQLAlchemy.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
