"""Core test fixtures: a real store in a fresh data folder."""

import pytest

from mimo_desktop.core.store import Store


@pytest.fixture
def store(mimo_home):
    s = Store.open(mimo_home)
    yield s
    s.close()
