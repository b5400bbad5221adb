"""terraform-provider-alembic: a Terraform provider that runs Alembic migrations.

The package is built in floors (docs/architecture.md): ``entry`` starts processes, ``plugin``
speaks Terraform's protocol, ``provider`` dispatches to ``resources`` and ``data_sources``, which
use the Terraform contract ``framework`` owns, decide with ``statemachine`` and act through
``executor`` and ``proxy``; ``rendezvous`` is the socket floor below them all. Importing this
package must stay cheap and must never import alembic or SQLAlchemy.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
