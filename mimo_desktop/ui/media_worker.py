"""Media preparation off the GUI thread: a small executor, results handed back as queued signals.

Decoding a video or loading a tokenizer takes from milliseconds to seconds, so the
composer never does it itself. Jobs run on a ``ThreadPoolExecutor``; each result
crosses back to the GUI thread through a signal connected with an explicit
``Qt.QueuedConnection`` to a bound ``@Slot`` (a lambda would run on the worker
thread). Only the GUI thread keeps bookkeeping. The media layer is imported
inside the jobs, so none of torch/torchcodec is on the start-up path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from mimo_desktop.core.errors import MimoError

THUMBNAIL_SIDE = 96
WAVEFORM_PEAKS = 48


@dataclass(frozen=True)
class MediaResult:
    """What one preparation job produced: the prepared item or the reason it failed, and a preview."""

    prepared: Any = None  # PreparedMedia
    error: str | None = None
    thumbnail: Any = None  # RGB PIL image (image thumbnail or video poster frame)
    peaks: tuple[float, ...] | None = None  # audio waveform, 0…1
    duration_s: float | None = None


def prepare_with_preview(path: Path, config: Any, on_estimate: Callable[[Any], None],
                         stop: threading.Event | None = None) -> MediaResult:
    """Prepare ``path`` with the media layer and make its preview (runs on a worker thread).

    The cost read from the file's header goes to ``on_estimate`` first, so a long
    video shows its cost long before its frames are decoded.
    """
    # lazy: the heavy modules load on first use
    from mimo_desktop.media.costs import estimate
    from mimo_desktop.media.preparation import prepare
    from mimo_desktop.media.preview import waveform_peaks

    try:
        on_estimate(estimate(path, config))
    except MimoError:
        pass  # prepare finds the same problem and says it
    try:
        item = prepare(path, config, stop)
    except MimoError as exc:
        return MediaResult(error=str(exc))
    # previews come from what ``prepare`` already decoded: no second pass over the file
    if item.kind == "image":
        return MediaResult(prepared=item, thumbnail=thumbnail(item.vllm_data))
    if item.kind == "video":
        frames, times = item.vllm_data  # uint8 T×C×H×W tensor, seconds
        poster = frames[poster_index(times.tolist(), item.duration_s)].permute(1, 2, 0).contiguous().numpy()
        return MediaResult(prepared=item, thumbnail=thumbnail(poster), duration_s=item.duration_s)
    peaks = waveform_peaks(item.vllm_data[0], WAVEFORM_PEAKS)
    return MediaResult(prepared=item, peaks=tuple(float(p) for p in peaks), duration_s=item.duration_s)


def poster_index(times: list[float], duration_s: float | None) -> int:
    """The first sampled frame a tenth of the way in (at most 2 s): past black intros and fades."""
    wanted = min(0.1 * (duration_s or 0.0), 2.0)
    return next((i for i, t in enumerate(times) if t >= wanted), 0)


def thumbnail(picture: Any, side: int = THUMBNAIL_SIDE) -> Any:
    """A small RGB PIL copy of a PIL image or an H×W×3 uint8 array."""
    from PIL import Image

    image = Image.fromarray(picture) if not isinstance(picture, Image.Image) else picture.copy()
    image.thumbnail((side, side))
    return image.convert("RGB")


def load_config(model_dir: Path | None) -> Any:
    """The processor config for ``model_dir`` (None: built-in defaults). Raises MediaError."""
    from mimo_desktop.media.config import default_config, load_model_config

    return default_config() if model_dir is None else load_model_config(model_dir)


def _has_live_threads(pool: ThreadPoolExecutor) -> bool:
    return any(t.is_alive() for t in getattr(pool, "_threads", ()))


class MediaWorker(QObject):
    """Runs media jobs on a small pool; ``prepared`` and ``configLoaded`` arrive on the GUI thread."""

    prepared = Signal(int, object)  # job id, MediaResult
    estimated = Signal(int, object)  # job id, MediaCost from the header, before ``prepared``
    configLoaded = Signal(int, object, str)  # request id, ProcessorConfig or None, error text
    busyChanged = Signal(bool)

    # emitted from worker threads; connected queued to our own slots
    _jobDone = Signal(int, object)
    _jobEstimated = Signal(int, object)
    _configDone = Signal(int, object, str)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_workers: int = 2,
        prepare: Callable[[Path, Any, Callable[[Any], None]], MediaResult] | None = None,
    ) -> None:
        super().__init__(parent)
        self._stop = threading.Event()  # set at shutdown: a running video decode ends at its next chunk
        self._prepare = prepare or partial(prepare_with_preview, stop=self._stop)
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._retired: list[ThreadPoolExecutor] = []  # let go while a cancelled job still ran
        self._futures: dict[tuple[str, int], Future] = {}
        self._closed = False
        self._jobDone.connect(self._on_job_done, Qt.ConnectionType.QueuedConnection)
        self._jobEstimated.connect(self._on_job_estimated, Qt.ConnectionType.QueuedConnection)
        self._configDone.connect(self._on_config_done, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ GUI-thread API
    def submit(self, job_id: int, path: Path, config: Any) -> None:
        future = self._pool().submit(self._run_prepare, job_id, path, config)
        self._track(("job", job_id), future)
        future.add_done_callback(partial(self._emit_job, job_id))

    def load_config(self, request_id: int, model_dir: Path | None) -> None:
        future = self._pool().submit(self._run_load_config, model_dir)
        self._track(("config", request_id), future)
        future.add_done_callback(partial(self._emit_config, request_id))

    def cancel(self, job_id: int) -> None:
        """Forget a job; its result, if it still comes, is dropped."""
        future = self._futures.pop(("job", job_id), None)
        if future is not None:
            future.cancel()
            self._release_idle_pool()

    def is_busy(self) -> bool:
        return bool(self._futures)

    def shutdown(self) -> None:
        """Stop taking jobs, cancel queued ones and wait for running ones (the app's shutdown order)."""
        self._closed = True
        self._stop.set()
        self._futures.clear()
        pools = [*self._retired, *([self._executor] if self._executor else [])]
        self._executor, self._retired = None, []
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------ internals
    def _pool(self) -> ThreadPoolExecutor:
        if self._closed:
            raise RuntimeError("The media worker was shut down.")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="mimo-media")
        return self._executor

    def _track(self, key: tuple[str, int], future: Future) -> None:
        was_busy = self.is_busy()
        self._futures[key] = future
        if not was_busy:
            self.busyChanged.emit(True)

    def _release_idle_pool(self) -> None:
        # idle pool threads would linger for the app's life; let them go between bursts of work
        if not self._futures:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._retired = [p for p in self._retired if _has_live_threads(p)] + [self._executor]
                self._executor = None
            self.busyChanged.emit(False)

    def _run_prepare(self, job_id: int, path: Path, config: Any) -> MediaResult:
        try:
            return self._prepare(path, config, partial(self._jobEstimated.emit, job_id))
        except Exception as exc:  # a bug in a decoder must not kill the worker silently
            return MediaResult(error=f"Could not prepare {path.name}: {exc}")

    @staticmethod
    def _run_load_config(model_dir: Path | None) -> tuple[Any, str]:
        try:
            return load_config(model_dir), ""
        except MimoError as exc:
            return None, str(exc)

    # worker thread
    def _emit_job(self, job_id: int, future: Future) -> None:
        if not future.cancelled():
            self._jobDone.emit(job_id, future.result())

    def _emit_config(self, request_id: int, future: Future) -> None:
        if not future.cancelled():
            config, error = future.result()
            self._configDone.emit(request_id, config, error)

    # GUI thread
    @Slot(int, object)
    def _on_job_estimated(self, job_id: int, cost: Any) -> None:
        if ("job", job_id) in self._futures:
            self.estimated.emit(job_id, cost)

    @Slot(int, object)
    def _on_job_done(self, job_id: int, result: MediaResult) -> None:
        if self._futures.pop(("job", job_id), None) is None:
            return  # cancelled or shut down meanwhile
        self.prepared.emit(job_id, result)
        self._release_idle_pool()

    @Slot(int, object, str)
    def _on_config_done(self, request_id: int, config: Any, error: str) -> None:
        if self._futures.pop(("config", request_id), None) is None:
            return
        self.configLoaded.emit(request_id, config, error)
        self._release_idle_pool()
