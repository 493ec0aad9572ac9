"""Test helpers for engine tests: an event recorder and a request builder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mimo_desktop.engine import (
    EngineStateChanged,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    Turn,
)


class Recorder:
    """Collects events from any thread; tests wait on conditions, never on time."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting; events so far: {self.events}"
                self._cond.wait(left)
            return list(self.events)

    def for_request(self, rid: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if getattr(e, "request_id", None) == rid]

    def states(self) -> list[str]:
        with self._cond:
            return [e.state for e in self.events if isinstance(e, EngineStateChanged)]

    def wait_state(self, state: str, count: int = 1, timeout: float = 10.0) -> None:
        self.wait_for(lambda evs: sum(1 for e in evs if isinstance(e, EngineStateChanged)
                                      and e.state == state) >= count, timeout)

    def wait_end(self, rid: str, timeout: float = 10.0) -> Event:
        evs = self.wait_for(lambda evs: any(isinstance(e, (Finished, Failed)) and e.request_id == rid
                                            for e in evs), timeout)
        return next(e for e in evs if isinstance(e, (Finished, Failed)) and e.request_id == rid)


def ask(text: str, max_tokens: int = 64) -> GenerationRequest:
    return GenerationRequest((Turn("user", text),), SamplingSettings(max_tokens=max_tokens))
