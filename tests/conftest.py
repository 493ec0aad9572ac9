"""Shared fixtures: every test gets its own data folder; Qt runs offscreen unless a test asks for Xvfb."""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.fixture(autouse=True)
def mimo_home(tmp_path, monkeypatch):
    """A fresh MIMO_DESKTOP_HOME for each test: nothing leaks into the user's real data."""
    home = tmp_path / "mimo-home"
    monkeypatch.setenv("MIMO_DESKTOP_HOME", str(home))
    return home


@pytest.fixture
def memory_keyring():
    """The keyring package pointed at an in-process backend for the test."""
    import keyring
    from memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


@pytest.fixture
def no_thread_leaks():
    """Fail the test if it leaves a non-daemon thread running."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in leaked:
        t.join(timeout=5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"
