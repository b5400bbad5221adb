"""Regression: a plan that will run migrations but equals the prior state explains itself.

Found by ``tests/stateful/test_provider_model.py``. After an apply the state's ``pending``
keeps the migrations that ran (until the next refresh), and ``revisions`` the heads reached.
When the database is later moved back by hand to where that apply started, a plan without a
refresh reads the database, decides to run exactly the same migrations again and plans exactly
the values already stored: Terraform compares the planned object with the prior one, sees no
change and never calls ApplyResourceChange, so ``terraform apply -refresh=false`` reports
nothing to do while migrations are pending. The same happens to an update planned with unknown
values once the final plan turns out equal to the prior state. Never touches anything outside
its temporary directory.

Since Terraform's UpgradeResourceState (sent before every plan, refresh or not) empties the
stored ``pending`` and ``sql``, the re-planned migrations differ from the prior state and the
apply runs them.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_apply_without_refresh_after_the_database_was_moved_back(state: ProviderModel) -> None:
    """The stored ``pending`` is spent once stored, so the plan differs and the apply runs."""
    _revisions_0, revisions_1 = state.build(count=2)
    state.apply(refresh=True)
    state.move_database_to_base(drop_table=False)
    state.apply(refresh=False)
    assert not any(d.startswith("Refresh Needed: ") for d in state.tf.diagnostics)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]


def test_apply_with_refresh_after_the_database_was_moved_back(state: ProviderModel) -> None:
    _revisions_0, revisions_1 = state.build(count=2)
    state.apply(refresh=True)
    state.move_database_to_base(drop_table=False)
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == [revisions_1]
