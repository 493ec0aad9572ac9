"""Streaming into the chat view: sustained tokens/s and the worst GUI-thread stall.

A scripted engine behind the real EngineHost pushes one 20,000-token Markdown answer (paragraphs,
lists, fenced code) as fast as it can. Two consumers in the same process, same engine, same text:

- baseline: a bare QTextBrowser that appends each delta batch as plain text, nothing else;
- app: the real MainWindow, controller, store (SQLite in a temporary folder) and chat view.

A 1 ms PreciseTimer heartbeat on the GUI thread records the gaps between its ticks; the worst gap
(minus the 1 ms period) is the worst stall a user could feel. Goal: >= 5,000 tokens/s, no stall
over 16 ms.

    .venv/bin/python bench/ui_stream.py [--tokens 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTextBrowser  # noqa: E402

from mimo_desktop.engine.types import EngineInfo, Finished, GenerationRequest, TextDelta  # noqa: E402


def answer_pieces(tokens: int) -> list[str]:
    """A long answer as the engine would stream it: one piece per token."""
    pieces: list[str] = []
    section = 0
    while len(pieces) < tokens:
        section += 1
        pieces += [f"## Part {section}\n\n"]
        pieces += [f"word{i} " if i % 9 else "**bold** " for i in range(120)] + ["\n\n"]
        pieces += [f"- item {i} with `code{i}` and more text\n" for i in range(6)] + ["\n"]
        pieces += ["```python\n"]
        for line in range(24):
            pieces += [f"def f{section}_{line}(x", "):", f" return x * {line}", "\n"]
        pieces += ["```\n\n"]
        pieces += [f"after{i} " for i in range(80)] + ["\n\n"]
    return pieces[:tokens]


class FloodEngine:
    """Yields every piece with no delay (one await per 64 pieces so cancellation can land), or at
    ``rate`` tokens a second, in 10 ms bursts, like an engine's output handler."""

    def __init__(self, pieces: list[str], rate: float | None = None) -> None:
        self.pieces = pieces
        self.rate = rate

    async def start(self, on_stage, on_stats) -> EngineInfo:
        return EngineInfo(name="flood")

    async def generate(self, request: GenerationRequest):
        rid = request.request_id
        started = time.perf_counter()
        for i, piece in enumerate(self.pieces):
            yield TextDelta(rid, piece, 1)
            if self.rate:
                ahead = (i + 1) / self.rate - (time.perf_counter() - started)
                if ahead > 0.01:
                    await asyncio.sleep(ahead)
            elif i % 64 == 0:
                await asyncio.sleep(0)
        yield Finished(rid, "stop", 10, len(self.pieces), None, None)

    async def abort(self, request_id: str) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class Heartbeat:
    """Ticks every millisecond on the GUI thread; the largest gap between ticks is the worst stall."""

    def __init__(self) -> None:
        self.timer = QTimer(interval=1)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.last_ns = 0
        self.last_cpu = 0.0
        self.gaps_ms: list[float] = []
        self.cpu_gaps_ms: list[float] = []

    def start(self) -> None:
        self.clock.start()
        self.last_ns = self.clock.nsecsElapsed()
        self.last_cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        now, cpu = self.clock.nsecsElapsed(), time.thread_time()
        self.gaps_ms.append((now - self.last_ns) / 1e6)
        # CPU time the GUI thread itself spent between ticks: the stall without the time the OS gave
        # other processes (this machine is shared) or the thread spent waiting for the GIL.
        self.cpu_gaps_ms.append((cpu - self.last_cpu) * 1000)
        self.last_ns, self.last_cpu = now, cpu

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        gaps = sorted(self.gaps_ms) or [0.0]
        return {"worst_stall_ms": max(0.0, gaps[-1] - 1.0), "p99_gap_ms": gaps[max(0, int(len(gaps) * 0.99) - 1)],
                "worst_cpu_stall_ms": max(self.cpu_gaps_ms or [0.0]), "ticks": len(gaps)}


def wait_until(app: QApplication, done, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish in time")
        app.processEvents()
        time.sleep(0.0005)


def run_baseline(app: QApplication, pieces: list[str]) -> dict[str, float]:
    from mimo_desktop.ui.engine.bridge import EngineBridge
    from mimo_desktop.engine.choice import EngineChoice

    browser = QTextBrowser()
    browser.resize(840, 600)
    browser.show()
    bridge = EngineBridge()
    ended: list[float] = []

    def on_text(_rid: str, text: str, _tokens: int, _reasoning: bool) -> None:
        browser.moveCursor(browser.textCursor().MoveOperation.End)
        browser.insertPlainText(text)

    bridge.textReceived.connect(on_text)
    bridge.requestFinished.connect(lambda _e: ended.append(time.perf_counter()))
    choice = EngineChoice("flood", lambda: FloodEngine(pieces), "flood")
    bridge.start(choice.factory)
    wait_until(app, lambda: bridge.state == "ready")
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    bridge.submit(GenerationRequest((_turn(),)))
    wait_until(app, lambda: bool(ended))
    app.processEvents()
    result = beat.stop()
    result["tokens_per_s"] = len(pieces) / (ended[0] - started)
    assert browser.toPlainText() == "".join(pieces), "the baseline lost text"
    bridge.shutdown()
    browser.close()
    browser.deleteLater()
    return result


def run_app(app: QApplication, pieces: list[str], home: Path, rate: float | None = None) -> dict[str, float]:
    from mimo_desktop.app import build_window
    from mimo_desktop.core.conversation import MessageState
    from mimo_desktop.core.store import Store
    from mimo_desktop.engine.choice import EngineChoice

    store = Store.open(home)
    window, controller = build_window(store, start_engine=False)
    window.show()
    controller.engine.start_with(EngineChoice("flood", lambda: FloodEngine(pieces, rate), "flood"))
    wait_until(app, lambda: controller.bridge.state == "ready")
    wait_until(app, lambda: not any(t.name == "mimo-markdown-warm-up" for t in threading.enumerate()))
    paint_ms = _time_paints(window.chat)
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    controller.send("stream a long answer")
    # until the last token is on screen, footer included (the view may trail the stream briefly)
    wait_until(app, lambda: not controller.streamer.busy and window.chat.streaming_message_id is None)
    finished = time.perf_counter()
    app.processEvents()
    result = beat.stop()
    result["tokens_per_s"] = len(pieces) / (finished - started)
    result["paints"] = len(paint_ms)
    result["worst_paint_cpu_ms"] = max(paint_ms or [0.0])
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert answer.state is MessageState.COMPLETE and answer.text == "".join(pieces), "the app lost text"
    window.close()
    store.close()
    window.deleteLater()
    return result


def _time_paints(chat) -> list[float]:
    """Time every paint of the streaming region (the timer's, catch-ups and the final one)."""
    times: list[float] = []
    original = chat._paint_now

    def timed() -> None:
        t0 = time.thread_time()  # CPU time of the GUI thread: what the paint itself cost
        original()
        times.append((time.thread_time() - t0) * 1000)

    chat._paint_now = timed
    chat._catch_up.timeout.disconnect()
    chat._catch_up.timeout.connect(timed)
    return times


def _turn():
    from mimo_desktop.engine.types import Turn

    return Turn("user", "stream a long answer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/ui_stream.py")
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paced", type=float, default=300.0,
                        help="also stream 3,000 tokens at this many tokens/s, as a fast engine would (0: skip)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    pieces = answer_pieces(args.tokens)
    print(f"answer: {len(pieces)} tokens, {len(''.join(pieces)):,} characters, "
          f"{''.join(pieces).count('```') // 2} code blocks; platform {app.platformName()}")
    base, ours = [], []
    for run in range(args.runs):
        base.append(run_baseline(app, pieces))
        with tempfile.TemporaryDirectory(prefix="mimo-bench-") as home:
            ours.append(run_app(app, pieces, Path(home)))
        b, o = base[-1], ours[-1]
        print(f"run {run + 1}: baseline {b['tokens_per_s']:,.0f} tok/s, stall {b['worst_stall_ms']:.1f} ms "
              f"(CPU {b['worst_cpu_stall_ms']:.1f}) | app {o['tokens_per_s']:,.0f} tok/s, stall "
              f"{o['worst_stall_ms']:.1f} ms (CPU {o['worst_cpu_stall_ms']:.1f}), {o['paints']} paints, "
              f"worst paint CPU {o['worst_paint_cpu_ms']:.1f} ms")
    med = {k: statistics.median(r[k] for r in ours) for k in ours[0]}
    bmed = {k: statistics.median(r[k] for r in base) for k in base[0]}
    print(f"median baseline (bare QTextBrowser append): {bmed['tokens_per_s']:,.0f} tokens/s, "
          f"worst stall {bmed['worst_stall_ms']:.1f} ms (GUI-thread CPU {bmed['worst_cpu_stall_ms']:.1f} ms), "
          f"p99 gap {bmed['p99_gap_ms']:.1f} ms")
    print(f"median MiMo Desktop chat view:             {med['tokens_per_s']:,.0f} tokens/s, "
          f"worst stall {med['worst_stall_ms']:.1f} ms (GUI-thread CPU {med['worst_cpu_stall_ms']:.1f} ms), "
          f"p99 gap {med['p99_gap_ms']:.1f} ms, worst paint CPU {med['worst_paint_cpu_ms']:.1f} ms")
    print(f"ratio app/baseline tokens/s: {med['tokens_per_s'] / bmed['tokens_per_s']:.2f}; "
          f"worst stall over all app runs: {max(r['worst_stall_ms'] for r in ours):.1f} ms")
    if args.paced:
        with tempfile.TemporaryDirectory(prefix="mimo-bench-") as home:
            paced = run_app(app, answer_pieces(3000), Path(home), rate=args.paced)
        print(f"paced at {args.paced:.0f} tokens/s (3,000 tokens): worst stall {paced['worst_stall_ms']:.1f} ms "
              f"(GUI-thread CPU {paced['worst_cpu_stall_ms']:.1f} ms), p99 gap {paced['p99_gap_ms']:.1f} ms, "
              f"worst paint CPU {paced['worst_paint_cpu_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
