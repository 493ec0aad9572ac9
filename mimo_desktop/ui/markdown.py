"""Markdown to the HTML subset QTextDocument renders, with Pygments-highlighted code.

Raw HTML in the model's answer is shown as text, never interpreted (html=False).
"""

from __future__ import annotations

import html
from functools import lru_cache


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.options["highlight"] = highlight_code
    return md


def render_markdown(text: str) -> str:
    return _markdown().render(text)


def highlight_code(code: str, lang: str, _attrs) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang or "text")
    except ClassNotFound:
        return f"<pre>{html.escape(code)}</pre>"
    # Inline styles: QTextDocument has no stylesheet cascade for classes from a <style> block per fragment.
    return highlight(code, lexer, HtmlFormatter(noclasses=True, nowrap=False, style="friendly"))
