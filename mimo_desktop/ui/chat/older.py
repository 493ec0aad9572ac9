"""Older messages of a long conversation, put above the newest ones a few at a time.

Opening a conversation shows its newest messages at once; the Markdown of the older ones is rendered
on the Markdown worker thread, newest first, a few answers at a time, and inserted at the top of the
document from their own event-loop turns, some INSERT_HTML_CHARS at a time, keeping what the reader
sees where it is. The worker and the inserts take turns: never both at once (see ``start``).

An insert at the top costs QTextDocument's layout time that grows with the document below it
(measured, one edit block: 6 ms for a 700-character question above 3,000 blocks). Once an insert
takes longer than ON_DEMAND_AFTER_S, the rest is inserted only when the reader scrolls near the top
(or clicks the "↑ N earlier messages" line there), one piece at a time, as chat apps load history;
a search hit (``load_until``) brings them in until its message is there. Opening another
conversation (or the same one again) drops whatever is still pending.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPushButton

from mimo_desktop.core.conversation import Message, Role

from .stream_render import BlockRenderer

if TYPE_CHECKING:
    from .view import ChatView
    from ..window.theme import HtmlColors

# Older messages inserted per event-loop turn (at least one). An insert at the top costs a part per
# character and a part that grows with the document below (Qt lays it out again): 4.6 KB of HTML
# took 3 ms above 170 blocks, 16 ms above 1,260 (measured): small pieces keep each turn short.
INSERT_HTML_CHARS = 5_000
RENDER_BATCH = 3  # answers given to the Markdown worker at a time
ON_DEMAND_AFTER_S = 0.025  # an insert slower than this: insert the rest only when scrolled to the top
NEAR_TOP_PX = 40
SEPARATOR = ""  # turns are told apart by their cards and spacing, not by rules


class OlderMessages(QObject):
    def __init__(self, view: ChatView, renderer: BlockRenderer) -> None:
        super().__init__(view)
        self._view = view
        self._renderer = renderer
        self._pending: deque[list] = deque()  # [message, its rendering future or None], newest first
        self._colors: HtmlColors | None = None
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._insert_some)
        self.on_demand = False  # waiting for the reader to scroll up
        self._until: tuple[int, Callable[[], None]] | None = None  # a message wanted in, and what then
        self._asked = False  # the reader asked for the next piece (scrolled to the top, clicked)
        view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.hint = QPushButton(view)  # the view's child, not the viewport's: scrolling must not move it
        self.hint.setObjectName("earlierMessages")
        self.hint.setFlat(True)
        self.hint.setCursor(Qt.CursorShape.PointingHandCursor)
        self.hint.clicked.connect(self.load_more)
        self.hint.hide()

    @property
    def active(self) -> bool:
        """Older messages are being inserted (not: the rest waits for the reader to ask for it)."""
        return bool(self._pending) and (not self.on_demand or self._asked or self._until is not None)

    @property
    def waiting(self) -> int:
        """How many older messages are not in the view yet."""
        return len(self._pending)

    def holds(self, message_id: int) -> bool:
        """``message_id`` is one of the older messages not in the view yet."""
        return any(msg.id == message_id for msg, _future in self._pending)

    def load_until(self, message_id: int, then: Callable[[], None]) -> None:
        """Go on inserting, a piece per turn as ever, until ``message_id`` is in the view; then call ``then``."""
        self._until = (message_id, then)
        self.load_more()

    def reset(self) -> None:
        self._timer.stop()
        self._until = None
        self.on_demand = self._asked = False
        self.hint.hide()
        for _msg, future in self._pending:
            if future is not None:
                future.cancel()
        self._pending.clear()

    def start(self, older: list[Message], colors: HtmlColors) -> None:
        """Render ``older`` (in thread order) on the worker and put it above the view's first message.

        Nothing is given to the worker before the next event-loop turn, after the first paint; then a
        few answers at a time, and only while nothing is being inserted: the two never run at once.
        The worker's Python holds the GIL, and an insert (Qt's C++, which lets the GIL go) calls back
        into Python: each call waited for the worker, and on a loaded machine for the worker to get a
        core back (measured: an insert of 17 ms of CPU took 41 ms while the worker rendered).
        """
        self.reset()
        self._colors = colors
        self._pending.extend([msg, None] for msg in reversed(older))
        if self._pending:
            self._timer.start(0)

    def _needs_render(self, msg: Message) -> bool:
        return msg.role is Role.ASSISTANT and self._view.cached_body(msg) is None

    def _rendering(self) -> bool:
        return any(future is not None and not future.done() for _msg, future in self._pending)

    def _render_next(self) -> None:
        """The next RENDER_BATCH answers to the worker, once those it rendered before are in the view."""
        submitted = 0
        for item in self._pending:
            msg, future = item
            if future is not None:
                return  # rendered, still to be inserted
            if self._needs_render(msg):
                if submitted == RENDER_BATCH:
                    return
                item[1] = self._renderer.submit(msg.text, msg.id, [0], self._view.dark)
                item[1].dark = self._view.dark  # the theme may change before it is inserted
                submitted += 1

    @Slot()
    def _insert_some(self) -> None:
        """Insert the next rendered messages as one piece of about INSERT_HTML_CHARS of HTML: each
        insert at the top costs a fixed part that grows with the document, and a part per character.
        While the reader is waited for (on_demand), one piece per request (scrolled to the top, clicked)."""
        view = self._view
        rendering = self._rendering()
        wanted = not self.on_demand or self._asked or self._until is not None
        parts: list[str] = []
        size = 0
        while wanted and not rendering and self._pending and size < INSERT_HTML_CHARS:
            msg, future = self._pending[0]
            if future is None and self._needs_render(msg):
                break  # not given to the worker yet
            self._pending.popleft()
            # rendered for the other theme (switched while an answer streamed): rendered again for this one
            body = future.result() if future is not None and future.dark == view.dark else None
            parts.insert(0, view._message_html(msg, self._colors, body) + SEPARATOR)
            size += len(parts[0])
        if not rendering and not parts:
            self._render_next()  # not after an insert: its paint comes first, on the next turn
        if parts:
            self._asked = False
            started = time.thread_time()  # CPU: what the insert cost, not what other processes took
            self._insert_keeping_place("".join(parts))
            if time.thread_time() - started > ON_DEMAND_AFTER_S:
                self.on_demand = True
        if self._until is not None and not self.holds(self._until[0]):
            then, self._until = self._until[1], None
            then()
        if self.on_demand and view.verticalScrollBar().value() <= NEAR_TOP_PX:
            self._asked = True  # at the top (or nothing to scroll yet): the reader waits for more
        if self._pending and (self._rendering() or wanted or self._asked):
            self._timer.start(0 if parts else 2)
        self._show_hint()

    def _show_hint(self) -> None:
        """While older messages wait for the reader: how many, at the top of the view (a click loads them)."""
        if not (self.on_demand and self._pending):
            self.hint.hide()
            return
        count = len(self._pending)
        self.hint.setText(f"↑ {count} earlier message{'s' if count != 1 else ''}: scroll up or click to see them")
        self.hint.setAccessibleName(self.hint.text())
        self.hint.adjustSize()
        port = self._view.viewport().geometry()
        self.hint.move(port.x() + (port.width() - self.hint.width()) // 2, port.y() + 2)
        self.hint.show()
        self.hint.raise_()

    @Slot()
    def load_more(self) -> None:
        self._asked = True
        if self._pending and not self._timer.isActive():
            self._timer.start(0)

    @Slot(int)
    def _on_scrolled(self, value: int) -> None:
        if self.on_demand and value <= NEAR_TOP_PX:
            self.load_more()

    def _insert_keeping_place(self, html: str) -> None:
        """Insert at the top; what is in the viewport stays where it is, pixel for pixel."""
        view = self._view
        layout, bar = view.document().documentLayout(), view.verticalScrollBar()
        height_before = layout.documentSize().height()
        self._insert_at_top(html)
        grown = layout.documentSize().height() - height_before
        view.settle_layout()
        bar.blockSignals(True)  # keeping the place is not the reader scrolling up
        bar.setValue(bar.value() + round(grown))
        bar.blockSignals(False)

    def _insert_at_top(self, html: str) -> None:
        doc = self._view.document()
        before = doc.characterCount()
        self._insert_html_at_top(doc, html)
        self._view.moved_above_stream(doc.characterCount() - before)

    @staticmethod
    def _insert_html_at_top(doc, html: str) -> None:
        cursor = QTextCursor(doc)
        cursor.setPosition(0)
        # One edit block: Qt lays out what follows a change once per edit block, and everything
        # follows the top: three changes laid the whole document out three times (measured: a
        # question of 700 characters took 12-17 ms above 3,000 blocks).
        cursor.beginEditBlock()
        # An empty block of its own at the top: the inserted HTML must not merge into (or take the
        # format of) the first message's header.
        cursor.insertBlock(doc.begin().blockFormat(), doc.begin().charFormat())
        cursor.setPosition(0)
        cursor.setBlockFormat(QTextBlockFormat())
        cursor.setCharFormat(QTextCharFormat())
        cursor.insertHtml(html)
        cursor.endEditBlock()
