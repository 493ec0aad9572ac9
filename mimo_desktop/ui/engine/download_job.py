"""One model download run for the download dialog: plan it, check the disk, fetch, on a background worker.

The job runs on ``background.Background`` (the app's one way to run work off the GUI thread); what it
reports reaches the GUI thread there and is re-emitted by a relay object that lives there; the dialog
connects bound @Slot methods, never lambdas. Progress from the download's worker
threads is forwarded as it comes (models/ already throttles it to ~10 a second plus file starts/ends);
the dialog coalesces repaints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mimo_desktop.models import DownloadCancelled, DownloadProgress, ModelsError, NotEnoughDiskError

from ..background import Background, Task


@dataclass(frozen=True)
class DownloadRequest:
    repo_id: str
    revision: str
    folder: Path
    token: str | None  # None: the token saved in the keyring (or none: public repositories work)
    start: bool  # False: only plan and check the disk, so the user sees the size before committing


@dataclass(frozen=True)
class PlanFacts:
    """What the plan found, in numbers the dialog shows before bytes flow."""

    files: tuple[tuple[str, int, int], ...]  # path, size, bytes already here
    total_bytes: int
    to_fetch: int
    free_bytes: int
    needed_bytes: int  # to_fetch plus the reserve left free


@dataclass(frozen=True)
class JobOutcome:
    state: str  # "planned", "done", "cancelled", "failed", "no-space"
    message: str
    folder: Path


class JobRelay(QObject):
    """Created on the GUI thread; what the job reports is emitted from the GUI thread."""

    planned = Signal(object)  # PlanFacts
    progressed = Signal(object)  # DownloadProgress
    finished = Signal(object)  # JobOutcome


class DownloadJob:
    """Runs one request on a ``background.Background`` worker; ``cancel()`` from the GUI thread stops it
    within a moment. Its reports reach the relay on the GUI thread; the worker thread ends with the job."""

    def __init__(self, request: DownloadRequest, relay: JobRelay, *, free_space: Callable[[Path], int] | None = None,
                 max_workers: int = 4) -> None:
        self.request = request
        self._relay = relay
        self._free_space = free_space
        self._max_workers = max_workers
        self._cancel = threading.Event()
        self._download = None  # the ModelDownload once planned, for cancel()
        self._lock = threading.Lock()
        self._background = Background(relay, max_workers=1, name="model-download-job")
        self._task: Task | None = None

    def start(self) -> None:
        self._task = self._background.run(self._run, on_done=self._on_done, on_progress=self._on_report)

    def cancel(self) -> None:
        self._cancel.set()
        with self._lock:
            download = self._download
        if download is not None:
            download.cancel()

    def join(self, timeout: float | None = None) -> bool:
        """True when the job has ended (its worker thread with it)."""
        future = self._task.future if self._task is not None else None
        if future is not None:
            try:
                future.result(timeout)
            except Exception:  # noqa: BLE001 - a timeout, or the job's own end: only "ended?" matters here
                pass
        if future is None or future.done():
            self._background.shutdown(wait=True)
            return True
        return False

    # GUI thread
    def _on_report(self, report: tuple[str, object]) -> None:
        kind, value = report
        (self._relay.planned if kind == "planned" else self._relay.progressed).emit(value)

    def _on_done(self, outcome: JobOutcome) -> None:
        self._relay.finished.emit(outcome)
        self._background.shutdown(wait=True)  # the function has returned: its idle thread ends now

    # worker thread
    def _run(self, task: Task) -> JobOutcome:
        self._report = task.report
        try:
            return self._plan_and_fetch()
        except DownloadCancelled as exc:
            return JobOutcome("cancelled", str(exc), self.request.folder)
        except NotEnoughDiskError as exc:
            return JobOutcome("no-space", str(exc), self.request.folder)
        except ModelsError as exc:
            return JobOutcome("failed", str(exc), self.request.folder)
        except Exception as exc:  # noqa: BLE001 - the dialog must hear of any failure, not wait forever
            return JobOutcome("failed", f"The download stopped: {type(exc).__name__}: {exc}", self.request.folder)

    def _plan_and_fetch(self) -> JobOutcome:
        from mimo_desktop.models.download_plan import plan_download
        from mimo_desktop.models.downloader import DEFAULT_DISK_RESERVE, ModelDownload, disk_free_bytes
        from mimo_desktop.models.hub_token import read_hub_token

        req = self.request
        token = req.token or read_hub_token()
        plan = plan_download(req.repo_id, req.folder, revision=req.revision or None, token=token)
        free_space = self._free_space or disk_free_bytes
        download = ModelDownload(plan, token=token, free_space=free_space, max_workers=self._max_workers,
                                 cancel_event=self._cancel)
        self._report(("planned", PlanFacts(
            files=tuple((f.path, f.size, plan.present.get(f.path, 0)) for f in plan.files),
            total_bytes=plan.total_bytes, to_fetch=plan.bytes_to_fetch, free_bytes=free_space(req.folder),
            needed_bytes=plan.bytes_to_fetch + DEFAULT_DISK_RESERVE if plan.remaining else 0)))
        download.check_disk_space()  # raises NotEnoughDiskError before anything is written
        if not req.start:
            return JobOutcome("planned", "", req.folder)
        if self._cancel.is_set():
            raise DownloadCancelled()
        with self._lock:
            self._download = download
        download.subscribe(self._on_progress)
        folder = download.run()
        return JobOutcome("done", f"{req.repo_id} is complete in {folder}.", folder)

    def _on_progress(self, progress: DownloadProgress) -> None:
        self._report(("progress", progress))  # on a download worker thread: queued to the GUI
