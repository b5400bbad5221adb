"""Regression: ``alembic_stamp`` to ``heads`` from a database on two unrelated branches.

Found with ``tests/stateful/test_provider_model.py``'s rules. The database holds ``r02`` (whose
line later splits into the merge ``r05`` and the branch ``r08``) and ``r07`` (the head of an
unrelated branch). ``alembic stamp heads`` pairs *both* current heads with ``r05`` and then
with ``r08`` ("stamp_revision r02, r07 -> r05", "... -> r08") and so deletes ``r07``: the
database ends at ``r05, r08``, not at the heads. The provider's plan reuses Alembic's
bookkeeping and plans ``r05, r08`` for the target ``heads``; the worker's check after the stamp
then reports "Migration Not Recorded" (blaming env.py's transaction), the resource is tainted,
and every later apply fails the same way. The plan now predicts the heads a stamp should leave
(the target plus the heads of unrelated branches), and the apply stamps exactly that set from an
empty table. Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def _two_branches(state: ProviderModel) -> tuple[str, ...]:
    """Build r01-r02-r03, r01-r04, merge r05, r06-r07 apart, r02-r08; return the heads."""
    state.add_revision(head=0)
    revisions_1 = state.add_revision(head=0)
    state.add_revision(head=0)
    state.add_branch(parent="r01")
    state.merge_heads(first=0, second=0)
    revisions_5 = state.add_base()
    revisions_6 = state.add_branch(parent=revisions_5)
    state.add_branch(parent=revisions_1)
    state.move_database(how="stamp", revision=revisions_1)
    state.move_database(how="upgrade", revision=revisions_6)
    return state.scripts.heads()


def test_stamp_heads_keeps_every_branch(state: ProviderModel) -> None:
    state.build(count=0, kind="stamp")
    heads = _two_branches(state)
    assert heads == ("r05", "r07", "r08")
    state.target_heads(symbol="heads")
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == list(heads)


def test_upgrade_to_heads_from_the_same_database(state: ProviderModel) -> None:
    """Running the migrations instead reaches every head."""
    state.build(count=0, kind="upgrade")
    heads = _two_branches(state)
    state.target_heads(symbol="heads")
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == list(heads)
