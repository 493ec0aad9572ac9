"""Painting an answer while it streams, touching only the end of the chat document.

The answer's finished Markdown blocks are rendered once and stay; only the open last block is
replaced on each paint. When text arrives faster than it can be rendered, each paint renders
finished blocks for a bounded time and leaves the rest for the next one: the view trails the
stream for a moment instead of freezing the window. An open code fence is painted as plain text and highlighted once it
closes, so a long code block costs no Pygments run per paint. The thinking text streams the same
way above the answer and folds into one line when the answer begins.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument

from .markdown import BlockSplitter, plain_code, render_with_count
from .message_html import reasoning_html, thinking_collapsed_html
from .theme import HtmlColors

PAINT_BUDGET_S = 0.006  # time one paint may spend rendering and inserting finished blocks


class StreamRegion:
    """The end of ``doc`` from where the streaming message's body begins."""

    def __init__(self, doc: QTextDocument, message_id: int, colors: HtmlColors, dark: bool) -> None:
        self._doc = doc
        self.message_id = message_id
        self._colors = colors
        self._dark = dark
        self._cursor = QTextCursor(doc)
        self._region_start = self._new_block_at_end()
        self._tail_start = self._region_start
        self._splitter = BlockSplitter()
        self._think_splitter = BlockSplitter()
        self._code_index = 0
        self._pending: deque[str] = deque()  # finished blocks not rendered yet
        self._cost_per_char = 5e-6  # seconds; learned as blocks are rendered
        self.rendered_html: list[str] = []  # what the finished blocks became, kept for the thread cache
        self._answer_started = False
        self.text = ""
        self.reasoning = ""

    # ------------------------------------------------------------------ paint
    def paint(self, text: str, reasoning: str, budget_s: float = PAINT_BUDGET_S) -> bool:
        """Show ``text``/``reasoning`` (the whole answer so far); returns False while it trails behind."""
        self.text, self.reasoning = text, reasoning
        if not text:
            if reasoning:
                self._paint_thinking(reasoning)
            return True
        if not self._answer_started:
            self._begin_answer(reasoning)
        self._pending.extend(self._splitter.feed(text))
        if self._pending:
            # One block at a time (render + insert), until the budget is spent: a paint stays short
            # however far behind the view is.
            started = time.perf_counter()
            while self._pending:
                block = self._pending[0]
                spent = time.perf_counter() - started
                if spent > 0 and spent + self._cost_per_char * len(block) > budget_s:
                    break  # the next block would overrun this paint: it goes first in the next one
                self._pending.popleft()
                t0 = time.perf_counter()
                self._replace_tail(self._render_block(block))
                self._tail_start = self._new_block_at_end()
                self._learn_cost(len(block), time.perf_counter() - t0)
            if self._pending:
                return False
        self._replace_tail(self._tail_html(self._splitter.tail(text)))
        return True

    def _learn_cost(self, chars: int, seconds: float) -> None:
        """A running estimate of render + insert time per character (code costs more than prose)."""
        if chars:
            self._cost_per_char = 0.8 * self._cost_per_char + 0.2 * (seconds / chars)

    def _render_block(self, block: str) -> str:
        out, count = render_with_count(block, message_id=self.message_id,
                                       first_code_index=self._code_index, dark=self._dark)
        self._code_index += count
        self.rendered_html.append(out)
        return out

    def finish(self, footer_html: str) -> None:
        """The answer is complete: render its last block for good and append the footer."""
        tail = self._splitter.tail(self.text)
        if tail.strip():
            self._replace_tail(self._render_block(tail))
        elif not self.text and self.reasoning:
            self._clear_from(self._region_start)
            self._insert(thinking_collapsed_html(self.message_id, self.reasoning, self._colors))
        else:
            self._replace_tail("")
        if footer_html:
            self._new_block_at_end()
            self._insert(footer_html)

    # ------------------------------------------------------------- internals
    def _tail_html(self, tail: str) -> str:
        if not tail.strip():
            return ""
        if self._splitter.in_code:
            # Open fence: plain text now, Pygments once it closes (the block is then finished).
            head, _, code = tail.partition("\n")
            before = "" if head.lstrip().startswith(("```", "~~~")) else head
            return (render_with_count(before, dark=self._dark)[0] if before else "") + plain_code(code)
        return render_with_count(tail, message_id=self.message_id,
                                 first_code_index=self._code_index, dark=self._dark)[0]

    def _paint_thinking(self, reasoning: str) -> None:
        finished = self._think_splitter.feed(reasoning)
        if finished:
            self._replace_tail("".join(reasoning_html(b, self._colors) for b in finished))
            self._tail_start = self._new_block_at_end()
        self._replace_tail(reasoning_html(self._think_splitter.tail(reasoning), self._colors))

    def _begin_answer(self, reasoning: str) -> None:
        self._answer_started = True
        if reasoning:
            self._clear_from(self._region_start)
            self._insert(thinking_collapsed_html(self.message_id, reasoning, self._colors))
            self._tail_start = self._new_block_at_end()

    def _new_block_at_end(self) -> int:
        c = self._cursor
        c.movePosition(QTextCursor.MoveOperation.End)
        # A fresh format: the new block must not inherit a code block's or a heading's format.
        c.insertBlock(QTextBlockFormat(), QTextCharFormat())
        return c.position()

    def _clear_from(self, position: int) -> None:
        c = self._cursor
        c.setPosition(position)
        c.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        c.removeSelectedText()
        c.setBlockFormat(QTextBlockFormat())
        c.setCharFormat(QTextCharFormat())
        self._tail_start = position

    def _replace_tail(self, html: str) -> None:
        self._clear_from(self._tail_start)
        if html:
            self._insert(html)

    def _insert(self, html: str) -> None:
        self._cursor.movePosition(QTextCursor.MoveOperation.End)
        self._cursor.insertHtml(html)
