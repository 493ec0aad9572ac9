"""Opening a conversation in the chat view: time until the newest messages show, and the longest GUI block.

Three conversations in one SQLite store (temporary folder):

- ``long``: 200 messages (100 questions, 100 Markdown answers of ~2 KiB with a list, a table and a
  fenced Python block each);
- ``line-256k`` / ``line-1m``: one question and an answer that is one unbroken line of 256 KiB / 1 MiB
  (base64-like "AAAA…"), as a model stuck repeating itself writes.

Each is opened in the real MainWindow (controller, store, chat view) with a 1 ms PreciseTimer
heartbeat on the GUI thread. ``newest shown`` is the time from the open to the first paint that has
the newest message in the view; ``worst block`` is the longest gap between heartbeat ticks until the
view has nothing left to load (older messages are added in the background until inserting at the
top gets slow; then when the reader scrolls up: the bench scrolls to the top until all are in). Baseline, in the same
run: a bare QTextBrowser given the same conversation as plain text in one ``setPlainText``.
Goal: newest shown <= 150 ms, worst block <= 50 ms.

    .venv/bin/python bench/ui_open.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QTextBrowser  # noqa: E402
from ui_stream import Heartbeat  # noqa: E402

from mimo_desktop.core.conversation import MessageState, Role  # noqa: E402


def answer_text(n: int) -> str:
    rows = "\n".join(f"| row {i} | {i * n} | value {i} |" for i in range(5))
    code = "\n".join(f"    total_{i} = compute({n}, {i})  # step {i}" for i in range(12))
    return (f"## Answer {n}\n\nHere is what the picture shows, in **detail**: {'the dog runs ' * 30}\n\n"
            + "\n".join(f"- point {i} with `code{i}` and a [link](https://example.com/{i})" for i in range(6))
            + f"\n\n| name | count | note |\n| --- | --- | --- |\n{rows}\n\n"
            + f"```python\ndef answer_{n}():\n{code}\n    return total_0\n```\n\nIn short: {'done ' * 40}\n")


BASELINE_MAX_CHARS = 300_000  # a bare QTextBrowser takes minutes over one 1 MiB line (nan: not run)


def build_store(home: Path):
    from mimo_desktop.core.store import Store

    store = Store.open(home)
    ids = {}
    conv = store.create_conversation("long")
    for n in range(100):
        store.add_message(conv.id, Role.USER, f"Question {n}: what do you see in this picture? " * 3)
        store.add_message(conv.id, Role.ASSISTANT, answer_text(n), state=MessageState.COMPLETE)
    ids["long (200 messages)"] = conv.id
    for label, size in (("line-256k", 256 * 1024), ("line-1m", 1024 * 1024)):
        conv = store.create_conversation(label)
        store.add_message(conv.id, Role.USER, "Encode the file as base64")
        store.add_message(conv.id, Role.ASSISTANT, "Here it is:\n\n" + "A" * size + "\n",
                          state=MessageState.COMPLETE)
        ids[f"{label} (one unbroken line)"] = conv.id
    store.create_conversation("empty")  # the newest: opened at start-up, costs nothing
    return store, ids


def wait_until(app, done, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the view did not finish loading in time")
        app.processEvents()
        # what a running event loop does on its next turn (processEvents from here does not): the
        # documents a view let go of are deleted, and that costs GUI time too
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        time.sleep(0.0005)


def open_in_app(app, window, controller, conversation_id: int, newest: str) -> dict[str, float]:
    chat = window.chat
    beat = Heartbeat()
    shown: list[float] = []
    original_paint = chat.viewport().paintEvent

    def watch() -> None:
        if not shown and newest in chat.visible_text():
            shown.append(time.perf_counter())

    beat.start()
    started = time.perf_counter()
    controller.open_conversation(conversation_id)
    chat.viewport().repaint()  # the first frame, as the window system would ask for it
    watch()
    wait_until(app, lambda: (watch() or bool(shown)) and not chat.loading)
    app.processEvents()
    result = beat.stop()
    result["newest_shown_ms"] = (shown[0] - started) * 1000
    result["loaded_ms"] = (time.perf_counter() - started) * 1000
    del original_paint
    # the reader scrolls to the top until the whole conversation is in the view
    beat = Heartbeat()
    beat.start()
    bar = chat.verticalScrollBar()
    scrolls = 0
    while chat.older_waiting:
        scrolls += 1
        bar.setValue(0)
        wait_until(app, lambda: not chat.loading)
        app.processEvents()
    scrolled = beat.stop()
    result["scroll_up_worst_ms"] = scrolled["worst_stall_ms"]
    result["scroll_up_steps"] = scrolls
    return result


def open_baseline(app, text: str) -> dict[str, float]:
    browser = QTextBrowser()
    browser.resize(840, 600)
    browser.show()
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    browser.setPlainText(text)
    browser.viewport().repaint()
    shown = time.perf_counter()
    # Qt lays the rest out from a 10 ms timer, in steps that double up to 200,000 characters: measured
    # here until the height stops growing (left running, those steps fell into the app's next open)
    bar, height, still = browser.verticalScrollBar(), -1, time.perf_counter()
    while time.perf_counter() - still < 0.1:
        app.processEvents()
        time.sleep(0.0005)
        if bar.maximum() != height:
            height, still = bar.maximum(), time.perf_counter()
    result = beat.stop()
    result["newest_shown_ms"] = (shown - started) * 1000
    browser.close()
    browser.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/ui_open.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="run only the conversations whose label starts with this")
    parser.add_argument("--cached", action="store_true",
                        help="keep the Markdown rendered by the previous open (reopening in the same session)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from mimo_desktop.app import build_window
    from mimo_desktop.ui.chat.markdown import warm_up

    warm_up()  # the app does this on a thread at start-up; here it must not count against the open
    with tempfile.TemporaryDirectory(prefix="mimo-bench-open-") as home:
        store, ids = build_store(Path(home))
        window, controller = build_window(store, start_engine=False)
        window.resize(1100, 760)
        window.show()
        wait_until(app, lambda: not window.chat.loading)
        print(f"platform {app.platformName()}; window 1100x760; {args.runs} runs each; "
              f"{'Markdown kept from the previous open' if args.cached else 'nothing rendered before each open'}")
        for label, conv_id in ids.items():
            if args.only and not label.startswith(args.only):
                continue
            thread = store.thread(conv_id)
            newest = thread[-1].text.strip().splitlines()[-1][:40]
            plain = "\n\n".join(m.text for m in thread)
            ours, base = [], []
            for _ in range(args.runs):
                controller.open_conversation(next(iter(ids.values())) if conv_id != next(iter(ids.values()))
                                             else list(ids.values())[1])
                wait_until(app, lambda: not window.chat.loading)
                if not args.cached:
                    window.chat.forget_rendered()  # as at start-up: nothing rendered yet
                ours.append(open_in_app(app, window, controller, conv_id, newest))
                if len(plain) <= BASELINE_MAX_CHARS:
                    base.append(open_baseline(app, plain))
            med = {k: statistics.median(r[k] for r in ours) for k in ours[0]}
            bmed = ({k: statistics.median(r[k] for r in base) for k in base[0]} if base
                    else {"newest_shown_ms": float("nan"), "worst_stall_ms": float("nan")})
            print(f"{label}: app newest shown {med['newest_shown_ms']:.0f} ms, worst block "
                  f"{med['worst_stall_ms']:.1f} ms (GUI CPU {med['worst_cpu_stall_ms']:.1f}), all loaded "
                  f"{med['loaded_ms']:.0f} ms; scrolling up to the first message: {med['scroll_up_steps']:.0f} "
                  f"loads, worst block {med['scroll_up_worst_ms']:.1f} ms | baseline setPlainText shown {bmed['newest_shown_ms']:.0f} ms, "
                  f"worst block {bmed['worst_stall_ms']:.1f} ms | ratio worst block app/baseline "
                  f"{med['worst_stall_ms'] / max(bmed['worst_stall_ms'], 0.1):.2f}; worst over runs "
                  f"{max(r['worst_stall_ms'] for r in ours):.1f} ms")
        controller.shutdown()
        window.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
