"""Regression: an ``alembic_upgrade`` whose create failed is replaced once it is fixed.

Found by ``tests/stateful/test_provider_model.py``. Terraform taints an object whose create
failed with a partial state. The next apply is a replace, and its destroy half reaches
ApplyResourceChange with the prior (tainted) state, a null planned state and the *create*
plan's ``planned_private`` (Terraform keeps ``Private`` when it splits the replace into delete
and create). That private holds the lifecycle in PLANNED_CREATE; ``destroy_planned`` was not a
legal trigger there, so the destroy failed as an internal error, the create never ran, and
every later apply failed the same way. Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_a_failed_create_is_replaced_after_the_migration_is_fixed(state: ProviderModel) -> None:
    (revisions_0,) = state.build(count=1)
    revisions_1 = state.add_failing_revision(head=0)
    state.apply(refresh=True)
    assert state.tf.state is not None and state.tf.state.tainted
    assert state.tf.state.value["revisions"] == [revisions_0]
    state.fix_failing_revisions()
    state.apply(refresh=True)
    assert state.tf.state is not None and not state.tf.state.tainted
    assert state.tf.state.value["revisions"] == [revisions_1]
