"""Markdown to the HTML subset QTextDocument renders, with Pygments-highlighted code.

Raw HTML in the model's answer is shown as text, never interpreted (html=False); so is a link to
anything but http(s) and mail (a ``mimo:`` link the model writes is not an app action).
Every fenced code block gets a "Copy code" link (``mimo:copy-code/<message>/<n>``) that the chat
view turns into a clipboard copy; ``n`` counts code blocks from the start of the message.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

LIGHT_CODE_STYLE = "friendly"
DARK_CODE_STYLE = "monokai"
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Qt lays out one unbroken run of characters in time that grows much faster than its length (a 256 KiB
# line of base64 took 13 s, 1 MiB over 150 s): longer runs are shown cut, with "show all" beside them.
FOLD_CHARS = 1500
# An exact count, not "{n,}": a search stops at the start of the first long run instead of scanning the
# run to its end (9 ms per MiB of "AAAA…" on the GUI thread, twice per open: the fold and "show all").
LONG_RUN_START = re.compile(r"\S{%d}" % (FOLD_CHARS + 1))
FOLD_MARK = " … "


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.validateLink = _safe_link
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_fence)
    md.add_render_rule("image", _render_blocked_image)
    md.add_render_rule("table_open", lambda *_a: TABLE_OPEN)
    md.add_render_rule("heading_open", _render_heading_open)
    return md


LINK_SCHEMES = ("http:", "https:", "mailto:")


def _safe_link(url: str) -> bool:
    """Only web and mail links become links. Anything else the model writes, ``mimo:`` app actions
    above all, stays text: app actions come from the app's own buttons only."""
    return url.strip().lower().startswith(LINK_SCHEMES)


def warm_up() -> None:
    """Import markdown-it and Pygments and load the common lexers (~0.2 s), so the first code block
    of the first answer does not freeze the window. Runs on a daemon thread at start-up."""
    render_markdown("**warm** `up`\n\n| a |\n| - |\n| b |\n\n```python\nx = 1\n```\n")
    for lang in ("bash", "json", "javascript", "c", "cpp", "rust"):
        highlight_code("x", lang)


def render_markdown(text: str, *, message_id: int = 0, first_code_index: int = 0, dark: bool = False) -> str:
    return render_with_count(text, message_id=message_id, first_code_index=first_code_index, dark=dark)[0]


def render_with_count(
    text: str, *, message_id: int = 0, first_code_index: int = 0, dark: bool = False
) -> tuple[str, int]:
    """The HTML and how many code blocks it holds (so a later block can continue the numbering)."""
    env = {"code_index": first_code_index, "message_id": message_id, "dark": dark}
    out = _markdown().render(fold_long_runs(text), env)
    return out, env["code_index"] - first_code_index


def fold_long_runs(text: str) -> str:
    """``text`` with every unbroken run over FOLD_CHARS characters cut to its first FOLD_CHARS."""
    if len(text) <= FOLD_CHARS:
        return text
    out: list[str] = []
    pos = 0
    while (run := LONG_RUN_START.search(text, pos)) is not None:
        out += [text[pos:run.start() + FOLD_CHARS], FOLD_MARK]
        pos = _run_end(text, run.end())
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _run_end(text: str, pos: int) -> int:
    """Where the unbroken run going on at ``pos`` ends. ``str.split`` finds whitespace (the same
    characters as the regex ``\\s``) some 100 times faster than a regex that tests the run character
    by character; the window grows, so a long run costs a few slices, and many short ones little."""
    window = 4096
    while pos < len(text) and not text[pos].isspace():
        chunk = text[pos:pos + window]
        run = len(chunk.split(None, 1)[0])
        pos += run
        if run < len(chunk):
            break
        window = min(window * 4, 1 << 22)
    return pos


def has_long_runs(text: str) -> bool:
    return len(text) > FOLD_CHARS and LONG_RUN_START.search(text) is not None


def code_blocks(text: str) -> list[str]:
    """The contents of the message's code blocks, in the numbering the copy links use."""
    return [t.content for t in _markdown().parse(text) if t.type in ("fence", "code_block")]


# QTextDocument draws no grid unless the table asks for one; "collapse" makes it single lines.
TABLE_OPEN = ("<table border='1' cellspacing='0' cellpadding='5' width='100%'"
              " style='border-collapse: collapse; border-color: #9aa0a6; margin: 6px 0'>\n")
# Qt's defaults make an H1 1.7 times the body (xx-large): headings here stay close to the text.
HEADING_SIZE = {"h1": "x-large", "h2": "large", "h3": "medium", "h4": "medium", "h5": "medium", "h6": "medium"}


def _render_heading_open(self, tokens, idx, options, env) -> str:
    tag = tokens[idx].tag
    return f"<{tag} style='font-size: {HEADING_SIZE.get(tag, 'medium')}; margin-top: 12px; margin-bottom: 4px'>"


def _render_blocked_image(self, tokens, idx, options, env) -> str:
    """The model's images are never loaded (tracking pixels): their alt text and address instead."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    return (f"<span style='color:#80868b'>[image: {html.escape(alt)}"
            f"{f' · not loaded: {html.escape(str(src))}' if src else ''}]</span>")


def _render_fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    lang = token.info.strip().split(" ")[0] if token.info else ""
    index = env.get("code_index", 0)
    env["code_index"] = index + 1
    bar = (f"<p style='margin:6px 0 0 0'><small>{f'{html.escape(lang)} &nbsp;' if lang else ''}"
           f"<a href='mimo:copy-code/{env.get('message_id', 0)}/{index}' style='text-decoration: none'>"
           f"❐ Copy code</a></small></p>")
    return bar + highlight_code(token.content, lang, dark=env.get("dark", False))


# Pygments finds its formatters and lexers lazily, and not safely from two threads at once: the
# start-up warm-up and the Markdown worker raced (seen in bench/ui_stream.py: "ImportError: cannot
# import name 'HtmlFormatter' from 'pygments.formatters'", the code block shown unhighlighted).
_PYGMENTS_LOAD = threading.Lock()


@lru_cache(maxsize=4)
def _formatter(dark: bool):
    with _PYGMENTS_LOAD:
        from pygments.formatters import HtmlFormatter

        # Inline styles: QTextDocument has no stylesheet cascade for classes from a <style> block per
        # fragment. Made once per style: building one computes the whole style table.
        return HtmlFormatter(noclasses=True, nowrap=False, style=DARK_CODE_STYLE if dark else LIGHT_CODE_STYLE)


@lru_cache(maxsize=64)
def _lexer(lang: str):
    with _PYGMENTS_LOAD:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            return get_lexer_by_name(lang or "text")
        except ClassNotFound:
            return None


def highlight_code(code: str, lang: str, *, dark: bool = False) -> str:
    from pygments import highlight

    lexer = _lexer(lang.lower())
    if lexer is None:
        return plain_code(code)
    # QTextDocument turns each line of a <pre> into a block and applies line-height to each:
    # Pygments' 125% would open a gap between every two lines of code.
    return highlight(code, lexer, _formatter(dark)).replace(' style="line-height: 125%;"', "", 1)


def plain_code(code: str) -> str:
    return f"<pre>{html.escape(code)}</pre>"


@dataclass
class BlockSplitter:
    """Splits a growing Markdown text into finished top-level blocks and the open tail.

    A block is finished once a blank line (outside a code fence) is followed by a line that starts
    at column 0: nothing written later can change how it renders. Indented lines after a blank
    line continue the block (list items, nested paragraphs), so they are never split off.
    Each ``feed`` scans only the lines added since the last call.
    """

    block_start: int = 0
    _scanned: int = 0
    _fence: str | None = None
    fence_line_start: int = 0  # while in a fence: where its opening line starts
    fence_body_start: int = 0  # ... and where its first code line starts
    _blank_after_content: bool = False
    _has_content: bool = False
    finished: list[str] = field(default_factory=list)

    def feed(self, text: str) -> list[str]:
        """Scan new complete lines of ``text``; return the blocks finished by them."""
        new: list[str] = []
        while True:
            end = text.find("\n", self._scanned)
            if end < 0:
                break
            line_start, self._scanned = self._scanned, end + 1
            block = self._on_line(text, line_start, text[line_start:end])
            if block is not None:
                new.append(block)
        self.finished.extend(new)
        return new

    def tail(self, text: str) -> str:
        return text[self.block_start:]

    @property
    def in_code(self) -> bool:
        return self._fence is not None

    def _on_line(self, text: str, line_start: int, line: str) -> str | None:
        if self._fence is not None:
            if line.strip().startswith(self._fence) and not line.strip().strip(self._fence[0]):
                self._fence = None
                if not text[self.fence_line_start].isspace():
                    # A closed top-level fence ends its block: nothing after it changes how it renders.
                    end = line_start + len(line) + 1
                    finished, self.block_start = text[self.block_start:end], end
                    self._has_content = self._blank_after_content = False
                    return finished
            return None
        if not line.strip():
            self._blank_after_content = self._has_content
            return None
        finished = None
        if self._blank_after_content and line[0] not in " \t":
            finished = text[self.block_start:line_start]
            self.block_start = line_start
            self._blank_after_content = False
        match = FENCE.match(line)
        if match:
            self._fence = match.group(1)
            self.fence_line_start, self.fence_body_start = line_start, line_start + len(line) + 1
        self._has_content = True
        return finished
