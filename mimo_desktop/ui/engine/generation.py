"""One answer at a time: from the request to the stored, rendered answer with its statistics.

Runs on the GUI thread only. Text arriving from the bridge goes to the StreamWriter at once (the
database sees it within a second) and marks the view dirty; a timer paints at most ~30 times a
second. Events of any request but the current one are dropped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from mimo_desktop.core.conversation import GenerationStats, Message, MessageState
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store
from mimo_desktop.core.streaming import StreamWriter
from mimo_desktop.engine.types import (
    EngineError,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    Turn,
    new_request_id,
)

from ..chat.view import ChatView
from .bridge import EngineBridge
from ..chat.message_html import Branch

PAINT_INTERVAL_MS = 33  # ~30 paints a second at most
STOP_GRACE_MS = 3000  # after Stop, how long to wait for the engine's own "cancelled" before closing


@dataclass
class Answer:
    request_id: str
    message: Message  # as it was when the answer began
    writer: StreamWriter
    started: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    thinking_from: float | None = None
    thinking_s: float | None = None
    tokens: int = 0
    dirty: bool = False
    stopping: bool = False
    submitted: bool = False

    def thinking_time(self) -> float | None:
        """Thought until the answer began; or, if it never did, until now."""
        if self.thinking_from is None:
            return None
        return self.thinking_s if self.thinking_s is not None else time.monotonic() - self.thinking_from

    def live_tokens_per_s(self) -> float | None:
        if self.first_token_at is None or self.tokens < 2:
            return None
        span = time.monotonic() - self.first_token_at
        return (self.tokens - 1) / span if span > 0 else None


class AnswerStreamer(QObject):
    busyChanged = Signal(bool)
    answerEnded = Signal(int)  # message id
    liveRate = Signal(object)  # tokens/s of the answer so far, or None
    problem = Signal(str)  # a store failure the user must know about
    # the engine's Failed event of the current answer: its kind says whether nothing arrived (NO_ANSWER),
    # the stream stopped after `tokens` tokens (STOPPED_MID_ANSWER) or the server was unreachable
    answerFailed = Signal(object)

    def __init__(self, store: Store, bridge: EngineBridge, chat: ChatView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.bridge = bridge
        self.chat = chat
        self.current: Answer | None = None
        self._paint_timer = QTimer(self, interval=PAINT_INTERVAL_MS)
        self._paint_timer.timeout.connect(self._on_paint_tick)
        self._stop_timer = QTimer(self, singleShot=True, interval=STOP_GRACE_MS)
        self._stop_timer.timeout.connect(self._on_stop_grace_over)
        bridge.textReceived.connect(self._on_text)
        bridge.requestFinished.connect(self._on_finished)
        bridge.requestFailed.connect(self._on_failed)

    @property
    def busy(self) -> bool:
        return self.current is not None

    def begin(self, message: Message) -> str:
        """Take over ``message`` (shown as streaming by the view); returns the request id to use."""
        self.current = Answer(new_request_id(), message, StreamWriter(self.store, message.id))
        self._paint_timer.start()
        self.busyChanged.emit(True)
        return self.current.request_id

    def submit(self, request_id: str, turns: tuple[Turn, ...], sampling: SamplingSettings,
               system_prompt: str | None) -> None:
        """Send the request for the answer ``begin`` started (media of earlier turns may take a while)."""
        answer = self.current
        if answer is None or answer.request_id != request_id:
            return  # stopped while the media of earlier turns was prepared
        try:
            request = GenerationRequest(turns, sampling, answer.request_id, system_prompt or None)
        except EngineError as exc:
            self._end(MessageState.FAILED, error=str(exc))
            return
        answer.submitted = True
        if not self.bridge.submit(request):
            self._end(MessageState.FAILED, error="The engine is not running. Open Settings to choose one.")

    def stop(self) -> None:
        if self.current is None or self.current.stopping:
            return
        self.current.stopping = True
        if not self.current.submitted:
            self._end(MessageState.STOPPED)
            return
        self.bridge.cancel(self.current.request_id)
        self._stop_timer.start()

    @Slot()
    def shutdown(self) -> None:
        """The app is closing or the engine is being replaced: keep what streamed, marked as stopped."""
        if self.current is not None:
            self.bridge.cancel(self.current.request_id)
            self._end(MessageState.STOPPED)

    # ------------------------------------------------------------- events
    @Slot(str, str, int, bool)
    def _on_text(self, request_id: str, text: str, tokens: int, reasoning: bool) -> None:
        answer = self.current
        if answer is None or request_id != answer.request_id:
            return  # a request that is no longer current
        if answer.first_token_at is None:
            answer.first_token_at = time.monotonic()
        answer.tokens += tokens
        if reasoning:
            if answer.thinking_from is None:
                answer.thinking_from = time.monotonic()
            answer.writer.append(reasoning=text)
        else:
            if answer.thinking_from is not None and answer.thinking_s is None and text.strip():
                answer.thinking_s = time.monotonic() - answer.thinking_from
            answer.writer.append(text)
        answer.dirty = True

    @Slot(object)
    def _on_finished(self, event: Finished) -> None:
        if self.current is None or event.request_id != self.current.request_id:
            return
        stats = GenerationStats(
            prompt_tokens=event.prompt_tokens, output_tokens=event.output_tokens, ttft_s=event.ttft_s,
            tokens_per_s=event.tokens_per_s, mtp_drafted=event.mtp_drafted, mtp_accepted=event.mtp_accepted,
            finish_reason=event.reason, thinking_s=self.current.thinking_time())
        state = MessageState.STOPPED if event.reason == "cancelled" else MessageState.COMPLETE
        self._end(state, stats=stats)

    @Slot(object)
    def _on_failed(self, event: Failed) -> None:
        if self.current is None or event.request_id != self.current.request_id:
            return
        self.answerFailed.emit(event)
        self._end(MessageState.FAILED, error=event.message)

    @Slot()
    def _on_paint_tick(self) -> None:
        answer = self.current
        if answer is None:
            return
        answer.writer.flush_if_due()  # text can arrive and then nothing for a while
        if answer.dirty:
            answer.dirty = False
            self.chat.paint_stream(answer.writer.text, answer.writer.reasoning)
            self.liveRate.emit(answer.live_tokens_per_s())

    @Slot()
    def _on_stop_grace_over(self) -> None:
        if self.current is not None and self.current.stopping:
            self._end(MessageState.STOPPED)

    def _end(self, state: MessageState, *, stats: GenerationStats | None = None, error: str = "") -> None:
        answer, self.current = self.current, None
        if answer is None:
            return
        self._paint_timer.stop()
        self._stop_timer.stop()
        if stats is None and (answer.thinking_from is not None or answer.tokens):
            # stopped or failed on the way: how far it got, for the message under the answer
            stats = GenerationStats(output_tokens=answer.tokens or None, thinking_s=answer.thinking_time())
        try:
            answer.writer.finish(state, stats=stats, error=error)
            message = self.store.message(answer.message.id)
            siblings = self.store.siblings(answer.message.id)
        except StoreError as exc:
            self.problem.emit(str(exc))
            # the view still shows the answer as it ended; the database has what was flushed before
            message = dataclasses.replace(answer.message, text=answer.writer.text, state=state,
                                          reasoning=answer.writer.reasoning, error=error,
                                          stats=stats or GenerationStats())
            siblings = [message.id]
        branch = Branch(siblings.index(message.id) + 1, len(siblings))
        self.chat.finish_stream(message, branch)
        self.liveRate.emit(None)
        self.busyChanged.emit(False)
        self.answerEnded.emit(answer.message.id)
