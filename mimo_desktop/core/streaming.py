"""Writing an answer to the database while it streams, so a crash loses at most a second of it.

The GUI thread calls ``append`` for every delta and ``flush_if_due`` from a timer; both are cheap:
a flush only queues the text for the store's writer thread, which commits it and, when the database
is locked or the disk is full, keeps it in memory and retries until it is written. Nothing received
is dropped while the app runs, and the GUI never waits for the disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .conversation import GenerationStats, MessageState
from .store import Store

FLUSH_INTERVAL_S = 1.0


class StreamWriter:
    def __init__(
        self,
        store: Store,
        message_id: int,
        *,
        interval_s: float = FLUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.message_id = message_id
        self._interval = interval_s
        self._clock = clock
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._dirty = False
        self._last_flush = clock()

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def append(self, text: str = "", reasoning: str = "") -> None:
        if text:
            self._text.append(text)
            self._dirty = True
        if reasoning:
            self._reasoning.append(reasoning)
            self._dirty = True
        self.flush_if_due()

    def flush_if_due(self) -> bool:
        """Write if there is unsaved text and the interval has passed. Returns True if it wrote."""
        if self._dirty and self._clock() - self._last_flush >= self._interval:
            return self.flush()
        return False

    def flush(self) -> bool:
        if not self._dirty:
            return False
        text, reasoning = self.text, self.reasoning
        # Joined once per flush, so appends stay O(1) and a flush is O(length) at ~1 Hz.
        self._text, self._reasoning = [text], [reasoning] if reasoning else []
        self._store.update_message(self.message_id, text=text, reasoning=reasoning)
        self._dirty = False
        self._last_flush = self._clock()
        return True

    def finish(
        self, state: MessageState, *, stats: GenerationStats | None = None, error: str = ""
    ) -> None:
        """Queue the final text, state and statistics as one update. Raises StoreError for a read-only store."""
        self._store.update_message(
            self.message_id, text=self.text, reasoning=self.reasoning, state=state, stats=stats, error=error
        )
        self._dirty = False
