"""From Send to the first token: an animated line that says what is happening and for how long.

"◐ waiting for the model · 4 s", "◓ starting the engine · 40 s", "◑ preparing clip.mp4 · 2 s": the
phase comes from the view's ``waiting_phase`` (the controller knows it); the line is replaced by the
first thought or word of the answer.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot

if TYPE_CHECKING:
    from .view import ChatView
    from ..window.theme import HtmlColors

FRAMES = "◐◓◑◒"
TICK_MS = 250


def waiting_text(phase: str, seconds: float, frame: int) -> str:
    return f"{FRAMES[frame % len(FRAMES)]} {phase} · {int(seconds)} s"


def waiting_html(line: str, colors: HtmlColors) -> str:
    return f"<p style='color:{colors.muted}; margin-top:4px'><i>{html.escape(line)}</i></p>"


class WaitingLine(QObject):
    def __init__(self, view: ChatView) -> None:
        super().__init__(view)
        self._view = view
        self._timer = QTimer(self, interval=TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._message_id: int | None = None
        self._since = 0.0
        self._frame = 0

    def start(self, message_id: int) -> None:
        """The answer ``message_id`` is shown as streaming; a new one starts the clock from zero."""
        if message_id != self._message_id:
            self._message_id, self._since, self._frame = message_id, time.monotonic(), 0
        self._timer.start()
        self._tick()

    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        view = self._view
        if not view.waiting_for_first_token or view.streaming_message_id != self._message_id:
            self._timer.stop()
            return
        view.show_waiting(waiting_text(view.waiting_phase(), time.monotonic() - self._since, self._frame))
        self._frame += 1
