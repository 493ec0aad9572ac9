"""The media of earlier turns prepared again off the GUI thread, for a request.

``engine.history.prepare_history`` does the work on a one-thread ``background.Background``; its result
arrives on the GUI thread, and what it decoded is written to the disk cache after the request went.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject, Signal

from mimo_desktop.engine.history import MediaJob, PreparedHistory, prepare_history

from ..background import Background, Task


class HistoryMedia(QObject):
    """Earlier turns' media for a request, on a one-thread ``background.Background``."""

    prepared = Signal(str, object)  # request id, PreparedHistory

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._background = Background(self, max_workers=1, name="mimo-history-media")

    def start(self, job: MediaJob) -> None:
        rid = job.request_id
        self._background.run(
            _prepare_job, job,
            on_done=lambda result: self._deliver(job, result),
            on_error=lambda error: self.prepared.emit(
                rid, PreparedHistory(notes=[f"Earlier attachments were left out: {error}"])))

    def _deliver(self, job: MediaJob, history: PreparedHistory) -> None:
        self.prepared.emit(job.request_id, history)
        if history.unsaved and job.cache is not None:
            # after the request went: on the same thread, so a next job finds the entries written
            with contextlib.suppress(RuntimeError):  # shut down meanwhile: only a cache
                self._background.run(_save, job.cache, tuple(history.unsaved), on_error=lambda _exc: None)

    def shutdown(self) -> None:
        """Stops between items and inside a video decode; waits for the running job."""
        self._background.shutdown(wait=True)


def _prepare_job(job: MediaJob, task: Task) -> PreparedHistory:
    return prepare_history(job, task.stop_event)


def _save(cache: Any, items: tuple[Any, ...], task: Task) -> None:
    for item in items:
        if task.stopping:
            return  # quitting: only a cache, decoded again next time
        cache.put(item)
