"""Regression: ``terraform apply -replace=ADDR`` on an ``alembic_upgrade`` with a pending change.

Found by ``tests/stateful/test_provider_model.py``. For a forced replace Terraform first plans
the update as usual, then plans again with a null prior state and, as ``prior_private``, the
private state the first plan returned (``node_resource_abstract_instance.go``, the same in 1.0
and today). When the first plan had something to do, that private holds the lifecycle in
PLANNED_UPDATE, the second plan restored it, and ``planned`` was not a legal trigger there:
the plan failed as an internal error. A plan from a null prior is a create and starts at ABSENT
whatever private state comes with it. Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_forced_replace_with_a_pending_upgrade(state: ProviderModel) -> None:
    (_revisions_0,) = state.build(count=1)
    state.apply(refresh=True)
    revisions_1 = state.add_revision(head=0)
    state.apply_replace(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]


def test_forced_replace_without_a_pending_change(state: ProviderModel) -> None:
    """With nothing to do the first plan leaves the lifecycle PRESENT, and the replace works."""
    (revisions_0,) = state.build(count=1)
    state.apply(refresh=True)
    state.apply_replace(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_0]
    assert state.tf.state.value["id"] == "heads"
