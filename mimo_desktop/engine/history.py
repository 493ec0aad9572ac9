"""The turns of a request, and the media of earlier turns prepared again. No Qt here.

Stored attachments are files (content-addressed); the engine needs PreparedMedia. What was prepared
once comes from ``media.cache`` (memory, then disk); the rest is decoded by ``prepare_history`` on a
worker thread (the window runs it off its GUI thread). Where the media layer
cannot prepare a stored file (it is missing, or this build lacks the media layer) that turn goes as
text, and ``notes`` says so.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mimo_desktop.core.conversation import Message, Role
from mimo_desktop.engine.types import Turn


@dataclass(frozen=True)
class MediaJob:
    request_id: str
    items: tuple[tuple[int, Path, str, str], ...]  # (message id, file now, sha256, kind)
    model_dir: Path | None
    cache: Any = None  # media.cache.PreparedCache: what was prepared once is not decoded again


@dataclass
class PreparedHistory:
    by_message: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unsaved: list[Any] = field(default_factory=list)  # decoded now: written to the disk cache after delivery


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
    for message_id, path, sha, _kind in job.items:
        if stop is not None and stop.is_set():
            break  # the app is closing: the request will not be sent anyway
        item = job.cache.get(sha, config, path) if job.cache is not None else None
        if item is None:
            try:
                item = prepare(path, config, stop, sha256=sha)
            except Exception as exc:  # noqa: BLE001 - one bad file must not sink the request
                out.notes.append(f"An earlier attachment ({path.name}) was left out: {exc}")
                continue
            if job.cache is not None:
                job.cache.put(item, disk=False)  # the disk copy (~1 GB for an hour) waits: first tokens first
                out.unsaved.append(item)
        out.by_message[message_id] = out.by_message.get(message_id, ()) + (item,)
    return out
