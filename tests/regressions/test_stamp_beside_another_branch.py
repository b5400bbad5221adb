"""Regression: ``alembic_stamp`` of a revision while the database also holds another branch.

Found by ``tests/stateful/test_provider_model.py``. The plan took the resolved target as the
revisions the stamp leaves, but ``alembic stamp`` replaces only the heads on the target's own
lineage and keeps the heads of unrelated branches: stamping ``r01`` on a database at the base
``r02`` of another branch leaves ``r01, r02``. The apply then reported "Migration Not Applied As
Planned" and tainted the resource; every later apply replaced it and failed the same way. The
planned revisions are now what Alembic's stamp bookkeeping leaves, as they are for upgrades.
Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_stamp_a_revision_beside_the_head_of_another_branch(state: ProviderModel) -> None:
    (revisions_0,) = state.build(count=1, kind="stamp")
    revisions_1 = state.add_base()
    state.move_database(how="stamp", revision=revisions_1)
    state.target_revision(revision=revisions_0)
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == sorted([revisions_0, revisions_1])


def test_stamp_a_revision_on_its_own_branch(state: ProviderModel) -> None:
    revisions_0, revisions_1 = state.build(count=2, kind="stamp")
    state.move_database(how="stamp", revision=revisions_0)
    state.target_revision(revision=revisions_1)
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]
    state.add_revision(head=0)
    state.apply(refresh=True)
    assert state.tf.state.value["revisions"] == [revisions_1], "a stamp never follows"
