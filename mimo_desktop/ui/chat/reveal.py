"""A search hit in the chat view: the message that matched scrolled to the top of the view and
highlighted for a moment, the matched word more strongly, as a browser's find does.

The message may be one of the older messages still to be put above the newest ones: they go on
coming in a piece per event-loop turn until it is there (the window never waits for all of them).
The highlight is an extra selection: it moves neither the reader's cursor nor the scroll position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QTimer, Slot
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit

from .message_actions import header_mark

if TYPE_CHECKING:
    from .view import ChatView

HIGHLIGHT_MS = 2500
NEAR_BLOCKS = 8  # how far above the top of the view the header is looked for after scrolling to it
MESSAGE_BLOCKS = 5000  # how far down a header, or a message's end, is looked for
QUERY_SYNTAX = '"*()'  # what a search query may wrap its words in


def _marks(block: QTextBlock) -> list[str]:
    names: list[str] = []
    it = block.begin()
    while not it.atEnd():
        names += [n for n in it.fragment().charFormat().anchorNames() if n.startswith("msg-")]
        it += 1
    return names


class MessageReveal(QObject):
    def __init__(self, view: ChatView) -> None:
        super().__init__(view)
        self._view = view
        self._wanted: tuple[int, tuple[str, ...]] | None = None
        self.shown: int | None = None  # the message highlighted now
        self._fade = QTimer(self, singleShot=True, interval=HIGHLIGHT_MS)
        self._fade.timeout.connect(self.clear)

    def reveal(self, message_id: int, query: str = "") -> bool:
        """Scroll to ``message_id`` and highlight it; the first of the query's words found in it is marked."""
        view = self._view
        if view.message(message_id) is None:
            return False
        words = tuple(w for w in (w.strip(QUERY_SYNTAX) for w in query.split()) if w)
        self._wanted = (message_id, words)
        if view._older.holds(message_id):
            view._older.load_until(message_id, self._show)
        else:
            self._show()
        return True

    @Slot()
    def clear(self) -> None:
        self._fade.stop()
        self.shown = None
        self._view.setExtraSelections([])

    def _show(self) -> None:
        if self._wanted is None:
            return
        (message_id, words), self._wanted = self._wanted, None
        view = self._view
        view.settle_layout()
        view.scrollToAnchor(header_mark(message_id))
        header = self._header_near_top(message_id)
        if header is None:
            return
        end = self._end_of(header)
        whole = QTextCursor(header)
        whole.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        tint = view.palette().highlight().color()
        tint.setAlpha(60)
        selections = [self._selection(whole, tint)]
        match = self._first_match(view.document(), words, header.position(), end)
        if match is not None:
            tint = view.palette().highlight().color()
            tint.setAlpha(150)
            selections.append(self._selection(match, tint))
        view.setExtraSelections(selections)
        self.shown = message_id
        self._fade.start()

    def _header_near_top(self, message_id: int) -> QTextBlock | None:
        """The block with the message's header mark, looked for from the top of the view (where
        scrollToAnchor put it, or lower down when the message is near the end) rather than by
        walking the whole document from its start."""
        view, mark = self._view, header_mark(message_id)
        top = view.cursorForPosition(QPoint(4, 4)).block()
        block = top
        for _ in range(NEAR_BLOCKS):  # just above: the mark's block may begin above the view's edge
            if not block.isValid():
                break
            if mark in _marks(block):
                return block
            block = block.previous()
        block = top.next()
        for _ in range(MESSAGE_BLOCKS):
            if not block.isValid():
                break
            if mark in _marks(block):
                return block
            block = block.next()
        return None

    @staticmethod
    def _end_of(header: QTextBlock) -> int:
        block = header.next()
        for _ in range(MESSAGE_BLOCKS):
            if not block.isValid():
                break
            if _marks(block):
                return block.position() - 1
            block = block.next()
        return header.document().characterCount() - 1

    @staticmethod
    def _first_match(doc: QTextDocument, words: tuple[str, ...], start: int, end: int) -> QTextCursor | None:
        for word in words:
            found = doc.find(word, start)
            if not found.isNull() and found.selectionEnd() <= end:
                return found
        return None

    @staticmethod
    def _selection(cursor: QTextCursor, tint) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        selection.format.setBackground(tint)
        return selection
