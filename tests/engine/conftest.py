"""Fixtures for engine tests: an event recorder and hosts over the scripted engine."""

from __future__ import annotations

import pytest
from engine_events import Recorder
from engine_scripted import EngineLog, ScriptedEngine

from mimo_desktop.engine import EngineHost


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine_log() -> EngineLog:
    return EngineLog()


@pytest.fixture
def make_host(recorder, engine_log, no_thread_leaks):
    """Builds hosts over scripted engines; shuts every one down and checks no thread is left."""
    hosts: list[EngineHost] = []

    def build(**engine_kwargs) -> EngineHost:
        host = EngineHost(lambda: ScriptedEngine(engine_log, **engine_kwargs), recorder, tick_s=0.02,
                          health_s=0.02)
        hosts.append(host)
        return host

    yield build
    for host in hosts:
        assert host.shutdown(timeout_s=10)
        assert host.thread is None or not host.thread.is_alive()
