"""Regression: a refresh that cannot resolve the stored target must still record the heads.

Found by ``tests/stateful/test_provider_model.py``. The state's target is ``head``; a second
head appears, so ReadResource cannot resolve it and falls back to reading the database's heads.
That fallback updated ``revisions`` but handed back the previous private state, whose lifecycle
still held the heads an earlier refresh recorded (and said they came from a refresh). Once the
database had moved, every plan compared the database with those stale heads and failed with
"Database Moved", even right after a refresh and after the target was changed to ``heads`` to
fix the ambiguity: ``terraform apply`` could not succeed until the database was moved back.
Never touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_apply_after_the_target_became_ambiguous_and_the_database_moved(
    state: ProviderModel,
) -> None:
    (revisions_0,) = state.build(count=1)
    state.target_head()
    state.apply(refresh=True)
    state.refresh()
    revisions_1 = state.add_base()
    state.move_database(how="stamp", revision=revisions_1)
    state.target_heads(symbol="heads")
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == sorted([revisions_0, revisions_1])


def test_apply_after_the_target_became_ambiguous(state: ProviderModel) -> None:
    """Without the database moving in between, the same change of target applies."""
    (revisions_0,) = state.build(count=1)
    state.target_head()
    state.apply(refresh=True)
    state.refresh()
    revisions_1 = state.add_base()
    state.target_heads(symbol="heads")
    state.apply(refresh=True)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == sorted([revisions_0, revisions_1])
