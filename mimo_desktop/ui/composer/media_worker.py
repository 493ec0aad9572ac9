"""Media preparation off the GUI thread, on ``background.Background``: results arrive on the GUI thread.

Decoding a video or loading a tokenizer takes from milliseconds to seconds, so the
composer never does it itself. Each job reports its header cost first (``estimated``),
then its progress (``progressed``: fraction done), then the result (``prepared``); a
file whose header says it lasts over ``ASK_ABOVE_S`` stops after the header and comes
back with ``needs_confirmation`` until the user says go. The media layer is imported
inside the jobs, so none of torch/torchcodec is on the start-up path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from mimo_desktop.core.errors import MimoError

from ..background import Background, Task

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
    needs_confirmation: Any = None  # MediaCost of a long file, not decoded until the user confirms


# Longer files are priced from their header and decoded only once the user confirms.
ASK_ABOVE_S = 3600.0


def prepare_with_preview(path: Path, config: Any, on_estimate: Callable[[Any], None],
                         stop: threading.Event | None = None, progress: Callable[[float], None] | None = None,
                         confirmed: bool = True) -> MediaResult:
    """Prepare ``path`` with the media layer and make its preview (runs on a worker thread).

    The cost read from the file's header goes to ``on_estimate`` first, so a long
    video shows its cost long before its frames are decoded; unless ``confirmed``, a file
    longer than ``ASK_ABOVE_S`` goes no further.
    """
    # lazy: the heavy modules load on first use
    from mimo_desktop.media.costs import estimate
    from mimo_desktop.media.preparation import prepare
    from mimo_desktop.media.preview import waveform_peaks

    try:
        cost = estimate(path, config)
    except MimoError:
        cost = None  # prepare finds the same problem and says it
    if cost is not None:
        on_estimate(cost)
        if not confirmed and (cost.duration_s or 0.0) > ASK_ABOVE_S:
            return MediaResult(needs_confirmation=cost, duration_s=cost.duration_s)
    try:
        item = prepare(path, config, stop, progress)
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


class MediaWorker(QObject):
    """Media jobs on a small ``Background`` pool; every signal arrives on the GUI thread."""

    prepared = Signal(int, object)  # job id, MediaResult
    estimated = Signal(int, object)  # job id, MediaCost from the header, before ``prepared``
    progressed = Signal(int, float)  # job id, fraction done
    configLoaded = Signal(int, object, str)  # request id, ProcessorConfig or None, error text
    busyChanged = Signal(bool)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        max_workers: int = 2,
        prepare: Callable[[Path, Any, Callable[[Any], None], Task, bool], MediaResult] | None = None,
    ) -> None:
        super().__init__(parent)
        self._background = Background(self, max_workers=max_workers, name="mimo-media")
        self._background.busyChanged.connect(self.busyChanged)
        self._prepare = prepare or self._prepare_with_preview
        self._jobs: dict[int, Task] = {}
        self._configs: dict[int, Task] = {}

    # ------------------------------------------------------------ GUI-thread API
    def submit(self, job_id: int, path: Path, config: Any, confirmed: bool = False) -> None:
        """Prepare ``path``; a file longer than ``ASK_ABOVE_S`` waits for ``confirmed``."""
        self.cancel(job_id)
        holder: dict[str, Task] = {}
        task = self._background.run(
            self._run_prepare, path, config, confirmed,
            on_done=lambda result: self._on_job_done(job_id, holder["task"], result),
            on_progress=lambda value: self._on_job_progress(job_id, holder["task"], value))
        holder["task"] = task
        self._jobs[job_id] = task

    def load_config(self, request_id: int, model_dir: Path | None) -> None:
        holder: dict[str, Task] = {}
        task = self._background.run(
            self._run_load_config, model_dir,
            on_done=lambda out: self._on_config_done(request_id, holder["task"], out))
        holder["task"] = task
        self._configs[request_id] = task

    def cancel(self, job_id: int) -> None:
        """Forget a job and stop its decoding; its result, if it still comes, is dropped."""
        task = self._jobs.pop(job_id, None)
        if task is not None:
            task.cancel()

    def is_busy(self) -> bool:
        return self._background.is_busy()

    def shutdown(self) -> None:
        """Stop taking jobs, stop running decodes at their next chunk, drop queued ones, wait."""
        self._jobs.clear()
        self._configs.clear()
        self._background.shutdown(wait=True)

    # ------------------------------------------------------------ worker threads
    def _run_prepare(self, path: Path, config: Any, confirmed: bool, task: Task) -> MediaResult:
        def on_estimate(cost: Any) -> None:
            task.report(("estimate", cost))

        try:
            return self._prepare(path, config, on_estimate, task, confirmed)
        except Exception as exc:  # a bug in a decoder must not kill the worker silently
            return MediaResult(error=f"Could not prepare {path.name}: {exc}")

    @staticmethod
    def _prepare_with_preview(path: Path, config: Any, on_estimate: Callable[[Any], None], task: Task,
                              confirmed: bool) -> MediaResult:
        return prepare_with_preview(path, config, on_estimate, stop=task.stop_event,
                                    progress=lambda f: task.report(("progress", f)), confirmed=confirmed)

    @staticmethod
    def _run_load_config(model_dir: Path | None) -> tuple[Any, str]:
        try:
            return load_config(model_dir), ""
        except MimoError as exc:
            return None, str(exc)

    # ------------------------------------------------------------ GUI thread
    def _on_job_progress(self, job_id: int, task: Task, value: tuple[str, Any]) -> None:
        if self._jobs.get(job_id) is not task:
            return
        what, payload = value
        if what == "estimate":
            self.estimated.emit(job_id, payload)
        else:
            self.progressed.emit(job_id, float(payload))

    def _on_job_done(self, job_id: int, task: Task, result: MediaResult) -> None:
        if self._jobs.get(job_id) is not task:
            return  # cancelled or resubmitted meanwhile
        del self._jobs[job_id]
        self.prepared.emit(job_id, result)

    def _on_config_done(self, request_id: int, task: Task, out: tuple[Any, str]) -> None:
        if self._configs.pop(request_id, None) is not task:
            return
        self.configLoaded.emit(request_id, *out)


class MemoryReturn(QObject):
    """Freed decoder buffers handed back to the system (``give_back_memory``: gc and malloc_trim, ~0.3 s)
    on a worker, not the GUI thread; removals meanwhile share one more run, however many chips went."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._background = Background(self, max_workers=1, name="mimo-give-back")
        self._running = self._again = False

    def soon(self) -> None:
        if self._running:
            self._again = True
            return
        from mimo_desktop.media.memory import give_back_memory  # no torch

        try:
            self._background.run(give_back_memory, on_done=self._done, on_error=self._done)
        except RuntimeError:
            return  # shut down: the process is ending anyway
        self._running = True

    def _done(self, _result: object = None) -> None:
        self._running = False
        if self._again:
            self._again = False
            self.soon()

    def shutdown(self) -> None:
        self._background.shutdown()
