"""Regression: heads a refresh read while the target did not resolve are heads a refresh read.

Found by the long profile of ``tests/stateful/test_provider_model.py``, twice. The target ``head``
became ambiguous (a second base appeared), so ReadResource recorded the database's heads
without resolving the target, and the lifecycle did not count them as read by a refresh. When
the database then moved by hand and the next plan ran without a refresh, that plan started from
where the database had moved to and applied, instead of refusing with "Database Moved" as it
does after every other refresh. An import left to the plan (its database did not exist yet)
was likewise kept unread by a refresh that reached the database but not the target. Never
touches anything outside its temporary directory.
"""

from __future__ import annotations

from tests.stateful.test_provider_model import ProviderModel


def test_a_database_moved_after_an_unresolvable_refresh_stops_the_next_plan(
    state: ProviderModel,
) -> None:
    state.build(kind="upgrade", created_later=False, count=1, resource_settings_only=True)
    state.import_by_symbol(import_id="heads")
    state.destroy()
    state.target_head()
    state.apply(refresh=False, unknown=None)
    state.add_base()
    state.apply(refresh=True, unknown="target")
    failing = state.add_failing_revision(head=0)
    state.move_database(how="upgrade", revision=failing)
    state.merge_heads(first=0, second=0)
    state.apply(refresh=False, unknown="target")
    assert any(d.startswith("Database Moved: ") for d in state.tf.diagnostics)


def test_an_import_then_an_unresolvable_refresh_and_a_move_by_hand(state: ProviderModel) -> None:
    state.build(count=1, kind="upgrade", created_later=True, resource_settings_only=False)
    state.add_failing_revision(head=0)
    state.fix_failing_revisions()
    state.import_by_symbol(import_id="heads")
    state.target_head()
    state.add_failing_revision(head=0)
    state.apply(refresh=False, unknown="target")
    base = state.add_base()
    state.apply(refresh=True, unknown="target")
    state.move_database(how="upgrade", revision=base)
    state.merge_heads(first=0, second=0)
    state.apply(refresh=False, unknown="target")


def test_an_unread_import_whose_refresh_reaches_the_database_records_its_heads(
    state: ProviderModel,
) -> None:
    """An import left to the plan (the database did not exist yet) is refreshed once the
    database exists while its target ``head`` has become ambiguous: the refresh records the
    heads it read, and the plan reports the target."""
    state.build(count=0, kind="upgrade", created_later=True, resource_settings_only=False)
    state.import_by_symbol(import_id="head")
    state.add_base()
    state.move_database_to_base(drop_table=False)
    state.add_base()
    state.apply(refresh=True, unknown=None)
    assert state.tf.state is not None
    assert state.tf.state.value["revisions"] == sorted(state.rows)


def test_a_destroy_that_fails_to_read_the_database_leaves_no_refresh_behind(
    state: ProviderModel,
) -> None:
    """A failed destroy returns the stored object through ApplyResourceChange: its heads no
    longer count as read by the refresh before it, so a later plan is not refused with
    "Database Moved" when the database has moved since."""
    (revisions_0,) = state.build(
        count=1, resource_settings_only=False, kind="upgrade", created_later=False
    )
    state.change_settings(allow_downgrade=None, on_destroy=None, preview_sql=None)
    state.target_revision(revision=revisions_0)
    state.move_database_ahead_of_scripts()
    state.target_revision(revision=revisions_0)
    state.move_database_to_base(drop_table=True)
    state.target_head()
    revisions_1 = state.add_failing_revision(head=0)
    state.target_head()
    state.target_head()
    revisions_2 = state.add_revision(head=0)
    state.import_by_revision(revision=revisions_2)
    state.move_database_ahead_of_scripts()
    state.destroy()
    state.move_database(how="upgrade", revision=revisions_2)
    state.fix_failing_revisions()
    state.change_settings(allow_downgrade=None, on_destroy="base", preview_sql=None)
    state.refresh()
    state.apply_replace(refresh=True)
    state.add_branch(parent=revisions_1)
    state.change_settings(allow_downgrade=None, on_destroy=None, preview_sql=None)
    revisions_4 = state.add_failing_revision(head=0)
    state.move_database_ahead_of_scripts()
    state.fix_failing_revisions()
    state.destroy()
    state.destroy()
    state.move_database(how="upgrade", revision=revisions_4)
    state.change_settings(allow_downgrade=None, on_destroy=None, preview_sql=None)
    revisions_5 = state.add_failing_revision(head=0)
    state.change_settings(allow_downgrade=True, on_destroy=None, preview_sql=None)
    state.target_revision(revision=revisions_5)
    state.apply(refresh=False, unknown="target")
