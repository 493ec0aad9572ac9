"""What opening a conversation does before the window paints again: the newest messages, in a new document.

Everything here runs in the one event-loop turn of the open, so it is kept to what a window shows:
the older messages come later, a piece per turn (``older.py``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtGui import QTextDocument

from mimo_desktop.core.conversation import Message

if TYPE_CHECKING:
    from ..window.theme import HtmlColors
    from .view import ChatView

FIRST_PAINT_BUDGET_S = 0.008  # rendering the newest messages for the first paint (at least one)
# setHtml/insertHtml cost ~1.5 µs a character of HTML (Pygments' inline styles make code verbose);
# 4,000 characters are about one answer with code: a window's height or more
FIRST_PAINT_HTML_CHARS = 4_000


def newest_parts(view: ChatView, finished: list[Message], colors: HtmlColors) -> tuple[int, list[str]]:
    """The HTML of the newest messages that fit the first paint's budget (at least one), and
    the index of the first of them."""
    started, parts, first, size = time.perf_counter(), [], len(finished), 0
    while first > 0 and (not parts or (time.perf_counter() - started < FIRST_PAINT_BUDGET_S
                                       and size < FIRST_PAINT_HTML_CHARS)):
        first -= 1
        parts.insert(0, view._message_html(finished[first], colors))
        size += len(parts[0])
    return first, parts


def show_in_new_document(view: ChatView, html_text: str) -> None:
    """``html_text`` in a new document. Taking the old one apart costs ~10 ms for a chat of 200
    messages (measured): it is deleted on a later event-loop turn, not in the middle of the open.
    The new document's parent is the view, so that its resources still come from loadResource."""
    view._reveal.clear()  # a search hit's highlight: its cursors are the old document's
    old = view.document()
    doc = QTextDocument(view)
    doc.setUndoRedoEnabled(False)
    doc.setDefaultFont(old.defaultFont())
    doc.setDefaultStyleSheet(old.defaultStyleSheet())
    doc.setDefaultTextOption(old.defaultTextOption())
    doc.setDocumentMargin(old.documentMargin())
    ours = old.parent() is view  # the one QTextEdit made at first is deleted by setDocument itself
    view.setDocument(doc)
    if ours:
        old.deleteLater()
    view.setHtml(html_text)
