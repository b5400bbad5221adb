"""Regression: ``terraform apply -refresh=false`` after the database reached the target by hand.

Found by ``tests/stateful/test_provider_model.py``. With the database already at the target
and the configuration unchanged, the plan decided "no-op" and left the lifecycle PRESENT. Yet
without a refresh the prior state still recorded the old revisions, so the planned ``revision``,
``revisions`` and ``target_revisions`` differed from it, Terraform called ApplyResourceChange,
and ``apply_started`` from PRESENT was not a legal trigger: an internal error instead of
recording where the database is. Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_apply_without_refresh_records_a_database_upgraded_by_hand(state: ProviderModel) -> None:
    (_revisions_0,) = state.build(count=1)
    state.apply(refresh=True)
    revisions_1 = state.add_revision(head=0)
    state.move_database(how="upgrade", revision=revisions_1)
    state.apply(refresh=False)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]


def test_apply_with_refresh_records_a_database_upgraded_by_hand(state: ProviderModel) -> None:
    (_revisions_0,) = state.build(count=1)
    state.apply(refresh=True)
    revisions_1 = state.add_revision(head=0)
    state.move_database(how="upgrade", revision=revisions_1)
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]
