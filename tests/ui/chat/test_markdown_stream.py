"""The streaming renderer: block splitting, and a streamed answer ending up as the whole rendered at once."""

import time

import pytest
from PySide6.QtWidgets import QTextBrowser

from mimo_desktop.ui.chat.markdown import FOLD_CHARS, FOLD_MARK, BlockSplitter, fold_long_runs, has_long_runs, render_markdown
from mimo_desktop.ui.chat.stream_render import BlockRenderer, StreamRegion
from mimo_desktop.ui.window.theme import html_colors

ANSWER = (
    "# Title\n\nA paragraph with **bold**\nand a second line.\n\n"
    "- item one\n- item two\n\n  continued item text\n\n"
    "1. first\n2. second\n\n"
    "Code follows:\n```python\ndef f(x):\n    return x\n```\n"
    "After the code.\n\n"
    "| a | b |\n| - | - |\n| 1 | 2 |\n\n> A quote\n> on two lines\n\nThe end."
)


def test_every_unbroken_run_over_the_fold_is_cut_and_everything_between_runs_is_kept():
    keep = "x" * FOLD_CHARS  # exactly at the limit: shown whole
    text = (f"start {keep} " + "A" * (1 << 20) + "\n\u3000é" + "中" * (FOLD_CHARS + 1) + "\u00a0tail "
            + "B" * 70_000 + "\t" + "C" * 4096)
    folded = fold_long_runs(text)
    assert folded == (f"start {keep} " + "A" * FOLD_CHARS + FOLD_MARK + "\n\u3000" + ("é" + "中" * (FOLD_CHARS - 1))
                      + FOLD_MARK + "\u00a0tail " + "B" * FOLD_CHARS + FOLD_MARK + "\t" + "C" * FOLD_CHARS + FOLD_MARK)
    assert has_long_runs(text) and not has_long_runs(f"{keep} {keep}\n{keep}")
    assert fold_long_runs(f"{keep} {keep}") == f"{keep} {keep}"


def test_splitter_finishes_blocks_only_when_nothing_later_can_change_them():
    splitter = BlockSplitter()
    assert splitter.feed("Para one\n\n") == []  # the next line could still be indented
    assert splitter.feed("Para one\n\nPara two\n") == ["Para one\n\n"]
    text = "Para one\n\nPara two\n\n  indented continuation\n\n"
    assert splitter.feed(text) == []  # indented: part of the same block
    text += "```py\nx = 1\n\ny = 2\n"
    assert splitter.feed(text) == ["Para two\n\n  indented continuation\n\n"]
    assert splitter.in_code and splitter.tail(text).startswith("```py")
    text += "```\n"
    assert splitter.feed(text) == ["```py\nx = 1\n\ny = 2\n```\n"]  # blank lines in code split nothing
    assert not splitter.in_code and splitter.tail(text) == ""


def blocks_format(doc):
    """Each visible block's text with its spacing and indent: what makes paragraphs and quotes read."""
    out, block = [], doc.begin()
    while block.isValid():
        if block.text().strip():
            fmt = block.blockFormat()
            out.append((block.text().strip()[:20], fmt.topMargin(), fmt.bottomMargin(), fmt.leftMargin()))
        block = block.next()
    return out


def blocks_text(doc):
    out, block = [], doc.begin()
    while block.isValid():
        if block.text().strip():
            out.append(block.text().strip())
        block = block.next()
    return out


@pytest.mark.parametrize("step", [1, 3, 17])
def test_streamed_answer_shows_what_the_whole_answer_shows(qtbot, step):
    streamed, whole = QTextBrowser(), QTextBrowser()
    qtbot.addWidget(streamed)
    qtbot.addWidget(whole)
    renderer = BlockRenderer()
    region = StreamRegion(streamed.document(), 1, html_colors(False), False, renderer)
    try:
        for end in range(0, len(ANSWER) + step, step):
            region.paint(ANSWER[:end], "")
        region.close()
        deadline = time.monotonic() + 10
        while not region.paint(ANSWER, "", tail=False):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        region.append_footer("")
    finally:
        renderer.shutdown()
    whole.setHtml(render_markdown(ANSWER, message_id=1))
    assert blocks_text(streamed.document()) == blocks_text(whole.document())
    assert blocks_format(streamed.document()) == blocks_format(whole.document())  # spacing, quote indents
    assert "".join(region.rendered_html).count("mimo:copy-code/1/0") == 1


def test_code_is_highlighted_when_two_threads_load_pygments_at_once():
    """The start-up warm-up and the Markdown worker may highlight their first code at the same time."""
    import subprocess
    import sys

    script = """
import sys, threading
from mimo_desktop.ui.chat import markdown as md
failures = []
for attempt in range(20):
    for name in [m for m in sys.modules if m.startswith("pygments")]:
        del sys.modules[name]  # as in a fresh start: nothing of Pygments loaded yet
    md._formatter.cache_clear()
    md._lexer.cache_clear()
    def highlight():
        try:
            html = md.highlight_code("x = 1", "python")
        except ImportError as exc:
            html = repr(exc)
        if "<span" not in html:
            failures.append(html)
    threads = [threading.Thread(target=highlight) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
print(len(failures))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "0", done.stdout + done.stderr[-2000:]
