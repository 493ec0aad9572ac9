"""The turns of a request, and the media of earlier turns prepared again off the GUI thread.

Stored attachments are files (content-addressed); the engine needs PreparedMedia. Decoding runs on
a one-thread executor; the result crosses back through ``_done``, connected with an explicit
QueuedConnection to a GUI-thread slot. Where the media layer cannot prepare a stored file (it is
missing, or this build lacks the media layer) that turn goes as text, and ``notes`` says so.
"""

from __future__ import annotations

import threading

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from mimo_desktop.core.conversation import Message, Role
from mimo_desktop.engine.types import Turn


@dataclass(frozen=True)
class MediaJob:
    request_id: str
    items: tuple[tuple[int, Path, str], ...]  # (message id, stored file, kind)
    model_dir: Path | None


@dataclass
class PreparedHistory:
    by_message: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


NO_ANSWER_TURN = "(No answer: this request failed or was stopped before any text.)"


def turns_from_thread(thread: list[Message], media: dict[int, tuple[Any, ...]]) -> tuple[Turn, ...]:
    """The conversation as the engine sees it. A failed or stopped answer keeps its turn (its partial
    text, or a short marker when it has none), so user and assistant turns alternate as chat templates
    require: two user turns never go out in a row."""
    turns: list[Turn] = []
    for msg in thread:
        if msg.role is Role.SYSTEM:
            continue
        if msg.role is Role.USER and turns and turns[-1].role == Role.USER.value:
            turns.append(Turn(Role.ASSISTANT.value, NO_ANSWER_TURN))  # a question that was never answered
        if msg.role is Role.ASSISTANT:
            if turns and turns[-1].role == Role.ASSISTANT.value:
                continue  # never two answers in a row either
            text = msg.text if msg.text.strip() else NO_ANSWER_TURN
            turns.append(Turn(msg.role.value, text, tuple(media.get(msg.id, ())), msg.reasoning))
            continue
        turns.append(Turn(msg.role.value, msg.text, tuple(media.get(msg.id, ())), ""))
    return tuple(turns)


def prepare_history(job: MediaJob, stop: threading.Event | None = None) -> PreparedHistory:
    """Runs on the executor thread."""
    out = PreparedHistory()
    try:
        from mimo_desktop.media.config import default_config, load_model_config
        from mimo_desktop.media.preparation import prepare
    except ImportError as exc:
        out.notes.append(f"Earlier attachments were sent as text only: the media layer is missing ({exc}).")
        return out
    try:
        config = load_model_config(job.model_dir) if job.model_dir else default_config()
    except Exception:  # noqa: BLE001 - a model folder problem is the engine's to report; use defaults
        config = default_config()
    for message_id, path, _kind in job.items:
        if stop is not None and stop.is_set():
            break  # the app is closing: the request will not be sent anyway
        try:
            item = prepare(path, config, stop)
        except Exception as exc:  # noqa: BLE001 - one bad file must not sink the request
            out.notes.append(f"An earlier attachment ({path.name}) was left out: {exc}")
            continue
        out.by_message[message_id] = out.by_message.get(message_id, ()) + (item,)
    return out


class HistoryMedia(QObject):
    prepared = Signal(str, object)  # request id, PreparedHistory
    _done = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor: ThreadPoolExecutor | None = None
        self._stop = threading.Event()  # set at shutdown: stop between items and inside a video decode
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def start(self, job: MediaJob) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mimo-history-media")
        future = self._executor.submit(prepare_history, job, self._stop)
        future.add_done_callback(lambda f, rid=job.request_id: self._finished(rid, f))

    def _finished(self, request_id: str, future: Future) -> None:
        """Runs on the executor thread: only emits."""
        if future.cancelled():
            return
        error = future.exception()
        result = PreparedHistory(notes=[f"Earlier attachments were left out: {error}"]) if error else future.result()
        self._done.emit(request_id, result)

    @Slot(str, object)
    def _on_done(self, request_id: str, result: PreparedHistory) -> None:
        self.prepared.emit(request_id, result)

    def shutdown(self) -> None:
        self._stop.set()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
