"""Download progress as plain values, and the tracker that folds byte counts from worker threads into them.

A listener is any ``Callable[[DownloadProgress], None]``. It is called on a download worker thread:
the UI hands the value to its own thread (a queued signal) and must not block.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mimo_desktop.models.units import format_bytes, format_duration, format_rate

DownloadState = Literal["checking", "downloading", "done", "cancelled", "failed"]
FileState = Literal["waiting", "downloading", "done"]

_SPEED_WINDOW_S = 5.0  # speed is averaged over this much recent time: steady, yet quick to follow changes


@dataclass(frozen=True)
class FileProgress:
    path: str
    done: int
    total: int
    state: FileState


@dataclass(frozen=True)
class DownloadProgress:
    state: DownloadState
    done_bytes: int  # on disk for this revision, including what earlier attempts fetched
    total_bytes: int
    files_done: int
    files_total: int
    bytes_per_second: float  # measured over the last few seconds of this attempt
    active: tuple[FileProgress, ...]  # files being fetched right now
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0

    @property
    def eta_seconds(self) -> float | None:
        if self.bytes_per_second <= 0:
            return None
        return (self.total_bytes - self.done_bytes) / self.bytes_per_second

    def line(self) -> str:
        """One status line for a terminal or a status bar."""
        text = (
            f"{self.fraction:6.1%}  {format_bytes(self.done_bytes)} of {format_bytes(self.total_bytes)}  "
            f"files {self.files_done}/{self.files_total}"
        )
        if self.state == "downloading" and self.bytes_per_second > 0:
            eta = self.eta_seconds
            text += f"  {format_rate(self.bytes_per_second)}"
            text += f", {format_duration(eta)} left" if eta is not None else ""
        if self.active:
            text += f"  {self.active[0].path}" + (f" (+{len(self.active) - 1})" if len(self.active) > 1 else "")
        return text


ProgressListener = Callable[[DownloadProgress], None]


class ProgressTracker:
    """Thread-safe byte counts per file, with a rate and throttled notification of listeners."""

    def __init__(self, sizes: dict[str, int], already: dict[str, int], *, interval_s: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._sizes = dict(sizes)
        self._done = {path: already.get(path, 0) for path in sizes}
        self._finished = {path for path, size in sizes.items() if already.get(path, 0) >= size}
        self._active: dict[str, None] = {}  # insertion-ordered set
        self._listeners: list[ProgressListener] = []
        self._clock = clock
        self._interval = interval_s
        self._last_emit = float("-inf")
        self._received = 0  # bytes received in this attempt, for the rate
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])

    def subscribe(self, listener: ProgressListener) -> Callable[[], None]:
        """Add a listener; the returned function removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def file_started(self, path: str, already: int) -> None:
        with self._lock:
            self._active[path] = None
            self._done[path] = already
        self.emit("downloading", force=True)

    def add_bytes(self, path: str, count: int) -> None:
        """``count`` may be negative: a server that ignored our Range request made us start the file over."""
        with self._lock:
            self._done[path] += count
            if count > 0:
                self._received += count
                self._samples.append((self._clock(), self._received))
        self.emit("downloading")

    def file_finished(self, path: str) -> None:
        with self._lock:
            self._active.pop(path, None)
            self._done[path] = self._sizes[path]
            self._finished.add(path)
        self.emit("downloading", force=True)

    def file_stopped(self, path: str) -> None:
        with self._lock:
            self._active.pop(path, None)

    def emit(self, state: DownloadState, message: str = "", *, force: bool = False) -> DownloadProgress | None:
        with self._lock:
            now = self._clock()
            if not force and now - self._last_emit < self._interval:
                return None
            self._last_emit = now
            snapshot = self._snapshot(state, message, now)
            listeners = list(self._listeners)
        for listener in listeners:  # outside the lock: a slow listener must not stall the other workers
            listener(snapshot)
        return snapshot

    def _snapshot(self, state: DownloadState, message: str, now: float) -> DownloadProgress:
        while len(self._samples) > 1 and now - self._samples[0][0] > _SPEED_WINDOW_S:
            self._samples.popleft()
        first_t, first_bytes = self._samples[0]
        elapsed = now - first_t
        rate = (self._received - first_bytes) / elapsed if elapsed > 0 else 0.0
        active = tuple(
            FileProgress(p, self._done[p], self._sizes[p], "downloading") for p in self._active
        )
        return DownloadProgress(
            state=state,
            done_bytes=sum(min(self._done[p], self._sizes[p]) for p in self._sizes),
            total_bytes=sum(self._sizes.values()),
            files_done=len(self._finished),
            files_total=len(self._sizes),
            bytes_per_second=rate,
            active=active,
            message=message,
        )
