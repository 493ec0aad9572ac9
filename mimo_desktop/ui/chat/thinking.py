"""Folding and unfolding a finished message's thinking in place: only its own blocks change.

The toggle line (``mimo:thinking/<id>``) stays where it is on screen; the thinking text under it
(paragraphs carrying the anchor name ``thought-<id>``) is inserted or removed, and nothing else in
the document is rebuilt, so the view does not jump.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument

from .message_html import thinking_collapsed_html, thinking_expanded_html, thought_mark
from ..window.theme import html_colors

if TYPE_CHECKING:
    from .view import ChatView


def find_link_block(doc: QTextDocument, href: str, text: str) -> QTextBlock | None:
    """The block holding the link ``href`` on the words ``text`` (found by Qt's own search)."""
    cursor = doc.find(text)
    while not cursor.isNull():
        if cursor.charFormat().anchorHref() == href:
            return cursor.block()
        cursor = doc.find(text, cursor)
    return None


def _is_thought(block: QTextBlock, mark: str) -> bool:
    it = block.begin()
    return not it.atEnd() and mark in it.fragment().charFormat().anchorNames()


def toggle_thinking_in_place(view: ChatView, message_id: int) -> bool:
    msg = view.message(message_id)
    doc = view.document()
    line = find_link_block(doc, f"mimo:thinking/{message_id}", "Thinking") if msg is not None else None
    if line is None or not msg.reasoning:
        return False
    mark, last = thought_mark(message_id), line
    while last.next().isValid() and _is_thought(last.next(), mark):
        last = last.next()
    colors = html_colors(view.dark)
    show = thinking_expanded_html if view.thinking_is_open(message_id) else thinking_collapsed_html
    bar = view.verticalScrollBar()
    keep = bar.value()  # the line stays put: everything above it is untouched
    line_format, start = line.blockFormat(), line.position()
    length_before = doc.characterCount()
    cursor = QTextCursor(doc)
    cursor.setPosition(start)
    cursor.setPosition(last.position() + last.length() - 1, QTextCursor.MoveMode.KeepAnchor)
    cursor.beginEditBlock()
    cursor.removeSelectedText()
    cursor.insertHtml(show(message_id, msg.reasoning, colors, msg.stats.thinking_s))
    cursor.setPosition(start)
    cursor.setBlockFormat(line_format)  # a removal from a block's start takes the last block's format
    cursor.endEditBlock()
    view.moved_above_stream(doc.characterCount() - length_before)  # a finished answer is above a streaming one
    view.settle_layout()
    bar.setValue(keep)
    return True
