"""The model every regression replays its found program on, torn down after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stateful.test_provider_model import ProviderModel


@pytest.fixture
def state() -> Iterator[ProviderModel]:
    """A fresh ``ProviderModel``; the test builds its world, the fixture tears it down."""
    model = ProviderModel()
    try:
        yield model
    finally:
        model.teardown()
