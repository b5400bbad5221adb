"""Regression: an import that could not read its database, which later sits at an unknown revision.

Found by ``tests/stateful/test_provider_model.py`` (a "created later" world). The import ran
before the database existed, so it recorded no revisions and left the read to the first plan,
which has the resource's settings. The database then appeared at a revision the scripts lack.
The provider's refresh still leaves such an import to the plan (it has no settings it can trust
yet) and the plan reports "Unknown Database Revision"; the reference expected the refresh itself
to fail. The reference now agrees with the provider. Never touches anything outside its
temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_unread_import_refreshed_at_an_unknown_revision_is_left_to_the_plan(
    state: ProviderModel,
) -> None:
    (revisions_0,) = state.build(count=1, kind="upgrade", created_later=True)
    revisions_1 = state.add_branch(parent=revisions_0)
    state.target_revision(revision=revisions_1)
    state.import_by_revision(revision=revisions_1)
    state.move_database_ahead_of_scripts()
    state.refresh()
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] is None, "the refresh read the database"
    state.plan(refresh=True)
    assert state.saved is None, "the plan must refuse the unknown revision"
    state.plan(refresh=True, unknown="environment")
    state.apply(refresh=False)
