"""Painting an answer while it streams, touching only the end of the chat document.

The answer's finished Markdown blocks are rendered once and stay; only the open last block is
replaced on each paint. Finished blocks are rendered (markdown-it, Pygments: pure Python) on one
worker thread, in order, and the GUI thread only inserts the HTML, a bounded amount per paint:
when text arrives faster than it can be shown, the view trails the stream for a moment instead of
freezing the window. An open code fence is painted as plain text and highlighted once it closes.
The thinking text streams the same way above the answer and folds into one line when the answer
begins.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
import sys
import time
from collections import deque
from concurrent.futures import Future

from PySide6.QtGui import QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument

from ..background import Background
from .markdown import FOLD_CHARS, FOLD_MARK, BlockSplitter, plain_code, render_with_count
from .message_html import reasoning_html, thinking_collapsed_html, thinking_line_html
from ..window.theme import HtmlColors

log = logging.getLogger(__name__)
PAINT_BUDGET_S = 0.005  # time one paint may spend inserting finished blocks
# While the worker renders (pure Python, holding the GIL), every Qt call of the GUI thread that lets
# the GIL go (setHtml, insertHtml, signals) waits up to one switch interval to get it back: CPython's
# 5 ms default, a 0.6 ms call that settles the layout took 75 ms when a long chat opened (measured on
# the shared machine); the engine bridge uses the same value while an engine runs.
GIL_SWITCH_INTERVAL_S = 0.0005
_SPACES = re.compile(r"(\s+)")
LONG_TAIL_CHARS = 4000  # an open block longer than this grows as plain text until it is finished


class BlockRenderer:
    """One worker thread (the app's ``Background``) that renders Markdown blocks in submission order.

    The paint timer polls the futures in document order, so they are plain futures, not callbacks."""

    def __init__(self) -> None:
        self._worker = Background(max_workers=1, name="mimo-markdown")
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))

    def submit(self, block: str, message_id: int, code_index: list[int], dark: bool) -> Future:
        return self._worker.submit(render_block, block, message_id, code_index, dark)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=True)


def render_block(block: str, message_id: int, code_index: list[int], dark: bool) -> str:
    """Runs on the worker. ``code_index`` (one int, touched only here, in order) numbers code blocks."""
    try:
        out, count = render_with_count(block, message_id=message_id, first_code_index=code_index[0], dark=dark)
    except Exception:  # noqa: BLE001 - a rendering bug must not lose the text
        log.exception("rendering a block failed")
        return f"<pre>{html_lib.escape(block)}</pre>"
    code_index[0] += count
    return out


class RunFolder:
    """Cuts unbroken runs to FOLD_CHARS in text that arrives piece by piece, as fold_long_runs does
    for a whole text: the streamed view of a 1 MiB line of base64 stays a short line."""

    def __init__(self) -> None:
        self._run = 0  # length of the unbroken run the text so far ends in
        self._cut = False

    def feed(self, piece: str) -> str:
        out = []
        for part in _SPACES.split(piece):
            if not part:
                continue
            if part[0].isspace():
                self._run, self._cut = 0, False
                out.append(part)
                continue
            room = FOLD_CHARS - self._run
            self._run += len(part)
            if room > 0:
                out.append(part[:room])
            if self._run > FOLD_CHARS and not self._cut:
                self._cut = True
                out.append(FOLD_MARK)
        return "".join(out)


_LEADING_TAGS = re.compile(r"(?:\s*<[^>]*>)+")
_first_formats: dict[str, QTextBlockFormat] = {}


def first_block_format(html: str) -> QTextBlockFormat:
    """The format Qt gives the first block of ``html`` as a document of its own. It depends only
    on the tags before the first text (``<p>``, ``<h2 style=…>``, ``<blockquote><p>``): kept per
    those, so a paint costs a dictionary look-up, not a second parse."""
    lead = _LEADING_TAGS.match(html)
    key = lead.group() if lead else ""
    fmt = _first_formats.get(key)
    if fmt is None:
        scratch = QTextDocument()
        scratch.setHtml(key + "x")
        fmt = _first_formats[key] = scratch.begin().blockFormat()
    return fmt


def _collapsed_block() -> QTextBlockFormat:
    """A block format of no height, for a block that may stay empty."""
    fmt = QTextBlockFormat()
    fmt.setLineHeight(0, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    return fmt


class StreamRegion:
    """The end of ``doc`` from where the streaming message's body begins."""

    def __init__(self, doc: QTextDocument, message_id: int, colors: HtmlColors, dark: bool,
                 renderer: BlockRenderer) -> None:
        self._doc = doc
        self.message_id = message_id
        self._colors = colors
        self._dark = dark
        self._renderer = renderer
        self._cursor = QTextCursor(doc)
        self._region_start = self._new_block_at_end()
        self._tail_start = self._region_start
        self._splitter = BlockSplitter()
        self._think_splitter = BlockSplitter()
        self._code_index = [0]  # the worker's running count of code blocks
        self._jobs: deque[Future] = deque()  # finished blocks being rendered, in document order
        self._cost_per_char = 3e-6  # seconds to insert one character of HTML; learned
        self.rendered_html: list[str] = []  # what the finished blocks became, kept for the thread cache
        self._answer_started = False
        self._open_code: int | None = None  # the open fence shown (its body's offset in the text)
        self._long_tail: int | None = None  # the long open block shown as plain text (its offset)
        self._long_shown = 0  # characters of it painted (unbroken runs are cut: see RunFolder)
        self._fold = RunFolder()
        self._code_live_start = 0  # where the open fence's unfinished last line is shown
        self._code_shown = 0  # characters of the open fence's body shown for good
        self.closed = False
        self.text = ""
        self.reasoning = ""
        self.thinking_open = True  # while it thinks the thinking shows; it folds when the answer begins
        self._think_start: int | None = None  # where the thinking text begins (below its toggle line)
        self._answer_start: int | None = None  # where the answer begins (below the thinking)

    # ------------------------------------------------------------------ paint
    def paint(self, text: str, reasoning: str, budget_s: float = PAINT_BUDGET_S, *, tail: bool = True) -> bool:
        """Show ``text``/``reasoning`` (the whole answer so far); returns False while it trails behind.

        ``tail=False`` leaves the open last block alone (``close`` sends it to be rendered for good).
        """
        self.text, self.reasoning = text, reasoning
        if not text:
            if reasoning and not self.closed:
                self._paint_thinking(reasoning)
            return True
        if not self._answer_started:
            self._begin_answer(reasoning)
        if not self.closed:
            for block in self._splitter.feed(text):
                self._jobs.append(self._renderer.submit(block, self.message_id, self._code_index, self._dark))
        self._insert_ready(budget_s)
        if self._jobs:
            return False
        if tail and not self.closed:
            if self._splitter.in_code:
                self._paint_open_code(text)
            elif len(text) - self._splitter.block_start > LONG_TAIL_CHARS:
                self._paint_long_tail(text)
            else:
                self._open_code = self._long_tail = None
                self._replace_tail(self._tail_html(self._splitter.tail(text)))
        return True

    def shift(self, moved: int) -> None:
        """Text was inserted (or removed) above this region: every position it keeps moves with it."""
        self._region_start += moved
        self._tail_start += moved
        self._code_live_start += moved
        if self._think_start is not None:
            self._think_start += moved
        if self._answer_start is not None:
            self._answer_start += moved

    def show_waiting(self, html: str) -> None:
        """Until the first word or thought arrives: a line that says what is happening."""
        if not self.text and not self.reasoning and not self.closed:
            self._replace_tail(html)

    def close(self) -> None:
        """The text is complete: its last block goes to be rendered like the others."""
        if self.closed:
            return
        self.closed = True
        last = self._splitter.tail(self.text)
        if last.strip():
            self._jobs.append(self._renderer.submit(last, self.message_id, self._code_index, self._dark))
        elif not self.text and self.reasoning:
            self.thinking_open = False
            self._clear_from(self._region_start)
            self._insert(thinking_collapsed_html(self.message_id, self.reasoning, self._colors))
            self._tail_start = self._new_block_at_end()
        else:
            self._replace_tail("")

    def append_footer(self, footer_html: str) -> None:
        """After ``close`` and a paint that caught up: state, stats and actions under the answer."""
        self._replace_tail("")
        if footer_html:
            self._insert(footer_html)
            spaced = self._cursor.blockFormat()  # the footer's own margin is lost in the insert
            spaced.setTopMargin(6)
            self._cursor.setBlockFormat(spaced)

    # ------------------------------------------------------------- internals
    def _insert_ready(self, budget_s: float) -> None:
        """Insert rendered blocks in order, one at a time, until the next would overrun the budget."""
        started, done = time.perf_counter(), 0
        while self._jobs and self._jobs[0].done():
            html = self._jobs[0].result()
            spent = time.perf_counter() - started
            if done and spent + self._cost_per_char * len(html) > budget_s:
                break
            self._jobs.popleft()
            t0 = time.perf_counter()
            self._replace_tail(html)
            self._tail_start = self._new_block_at_end()
            self._open_code = self._long_tail = None
            self.rendered_html.append(html)
            if html:
                self._cost_per_char = 0.8 * self._cost_per_char + 0.2 * (time.perf_counter() - t0) / len(html)
            done += 1

    def _tail_html(self, tail: str) -> str:
        if not tail.strip():
            return ""
        # all earlier jobs are done here, so the worker's count is final and safe to read
        return render_with_count(tail, message_id=self.message_id,
                                 first_code_index=self._code_index[0], dark=self._dark)[0]

    def _paint_open_code(self, text: str) -> None:
        """An open fence grows line by line: complete lines are appended once as plain text, only
        the last, unfinished line is replaced. Pygments runs once, when the fence closes."""
        split = self._splitter
        if self._open_code != split.fence_body_start:
            before = text[split.block_start:split.fence_line_start]
            self._replace_tail(self._tail_html(before))
            self._open_code, self._code_shown = split.fence_body_start, 0
            self._code_live_start = self._new_block_at_end()
        body = text[split.fence_body_start:]
        complete = body.rfind("\n") + 1
        if complete > self._code_shown:
            self._clear_from(self._code_live_start)
            self._insert(plain_code(body[self._code_shown:complete - 1]))
            self._code_shown = complete
            self._code_live_start = self._new_block_at_end()
        self._clear_from(self._code_live_start)
        if body[complete:]:
            self._insert(plain_code(body[complete:]))

    def _paint_long_tail(self, text: str) -> None:
        """A very long open paragraph (minified JSON, base64...): append what is new as plain text
        instead of rendering it all on every paint; it is rendered as Markdown once it is finished."""
        start = self._splitter.block_start
        if self._long_tail != start:
            self._replace_tail("")
            self._long_tail, self._long_shown = start, 0
            self._fold = RunFolder()
            self._open_code = None
        new = text[start + self._long_shown:]
        if new:
            shown = self._fold.feed(new)
            self._long_shown += len(new)
            if shown:
                self._cursor.movePosition(QTextCursor.MoveOperation.End)
                self._cursor.insertText(shown, QTextCharFormat())

    def _paint_thinking(self, reasoning: str) -> None:
        if self._think_start is None:  # the toggle line first, then the thoughts under it
            self._clear_from(self._region_start)
            self._insert(thinking_line_html(self.message_id, reasoning, self._colors, self.thinking_open))
            self._think_start = self._tail_start = self._new_block_at_end()
        if not self.thinking_open:
            return
        finished = self._think_splitter.feed(reasoning)
        if finished:
            self._replace_tail("".join(reasoning_html(b, self._colors) for b in finished))
            self._tail_start = self._new_block_at_end()
        self._replace_tail(reasoning_html(self._think_splitter.tail(reasoning), self._colors))

    def _begin_answer(self, reasoning: str) -> None:
        self._answer_started = True
        self.thinking_open = False
        if reasoning:
            self._clear_from(self._region_start)
            self._insert(thinking_collapsed_html(self.message_id, reasoning, self._colors))
            self._answer_start = self._tail_start = self._new_block_at_end()

    def set_thinking_open(self, open_: bool) -> None:
        """Fold or unfold the thinking in place, whether it is still streaming or the answer is."""
        if open_ == self.thinking_open or not self.reasoning or self.closed:
            return
        self.thinking_open = open_
        if not self._answer_started:
            self._think_start = None
            self._think_splitter = BlockSplitter()
            self._tail_start = self._region_start
            self._paint_thinking(self.reasoning)
            return
        show = thinking_line_html(self.message_id, self.reasoning, self._colors, open_)
        if open_:
            show += reasoning_html(self.reasoning, self._colors)
        self._replace_between(self._region_start, self._answer_start, show)

    def _replace_between(self, start: int, end: int, html: str) -> None:
        """Replace the blocks from ``start`` up to the one at ``end`` (kept): every later position
        this region keeps moves by the change in length."""
        c, before = self._cursor, self._doc.characterCount()
        c.setPosition(start)
        c.setPosition(end - 1, QTextCursor.MoveMode.KeepAnchor)
        c.removeSelectedText()
        c.insertHtml(html)
        c.setPosition(start)
        c.setBlockFormat(QTextBlockFormat())
        moved = self._doc.characterCount() - before
        self._answer_start += moved
        self._tail_start += moved
        self._code_live_start += moved if self._code_live_start >= end else 0

    def _new_block_at_end(self) -> int:
        c = self._cursor
        c.movePosition(QTextCursor.MoveOperation.End)
        # A fresh format: the new block must not inherit a code block's or a heading's format.
        c.insertBlock(_collapsed_block(), QTextCharFormat())
        return c.position()

    def _clear_from(self, position: int) -> None:
        c = self._cursor
        c.setPosition(position)
        c.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        c.removeSelectedText()
        c.setBlockFormat(_collapsed_block())
        c.setCharFormat(QTextCharFormat())

    def _replace_tail(self, html: str) -> None:
        self._clear_from(self._tail_start)
        if html:
            self._insert(html)

    def _insert(self, html: str) -> None:
        c = self._cursor
        c.movePosition(QTextCursor.MoveOperation.End)
        start = c.position()
        c.insertHtml(html)
        # A list or table leaves the (collapsed) block it was inserted into empty: it stays
        # collapsed. A paragraph, heading or quote fills it, but Qt keeps the block's own format:
        # it gets the one the HTML asks for (margins, quote indent), as the finished answer has.
        if self._doc.findBlock(start).length() > 1:
            c.setPosition(start)
            c.setBlockFormat(first_block_format(html))
