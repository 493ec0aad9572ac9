"""Start-up: MiMo Desktop's window shown and interactive vs. a bare PySide6 window, in the same run.

Each sample is a fresh process (wall time from spawn to exit) and, inside it, the time from the
first line of our code to the first event-loop turn after the window is exposed. Runs alternate
so both see the same machine state. Prints medians and the ratio; the goal is a ratio <= 2.

    .venv/bin/python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = r"""
import time, sys
t0 = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow(); w.resize(1100, 720); w.setWindowTitle("bare"); w.show()
def probe():
    if not w.windowHandle() or not w.windowHandle().isExposed():
        QTimer.singleShot(1, probe); return
    print(f"shown {time.perf_counter() - t0:.4f} heavy_modules=none", flush=True)
    w.close(); app.quit()
QTimer.singleShot(0, probe)
app.exec()
"""


def sample(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    line = next((l for l in out.stdout.splitlines() if l.startswith("shown ")), None)
    if line is None:
        raise SystemExit(f"no 'shown' line from {cmd}:\n{out.stdout}\n{out.stderr}")
    _, shown, heavy = line.split()
    return wall, float(shown), heavy.split("=", 1)[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["MIMO_DESKTOP_EXIT_WHEN_SHOWN"] = "1"
    env["MIMO_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="mimo-bench-")
    bare_cmd = [sys.executable, "-c", BARE]
    app_cmd = [sys.executable, "-m", "mimo_desktop"]
    sample(bare_cmd, env), sample(app_cmd, env)  # warm the page cache for both
    bare, app = [], []
    heavy = set()
    for _ in range(args.runs):
        bare.append(sample(bare_cmd, env))
        s = sample(app_cmd, env)
        heavy.add(s[2])
        app.append(s)
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    print(f"platform: {env['QT_QPA_PLATFORM']}, runs: {args.runs}, python {sys.version.split()[0]}")
    print(f"{'':28}{'process wall (s)':>18}{'to shown (s)':>15}")
    print(f"{'bare PySide6 window':28}{med(bare, 0):18.3f}{med(bare, 1):15.3f}")
    print(f"{'MiMo Desktop main window':28}{med(app, 0):18.3f}{med(app, 1):15.3f}")
    print(f"ratio (app / bare): process wall {med(app, 0) / med(bare, 0):.2f}x, "
          f"to shown {med(app, 1) / med(bare, 1):.2f}x  (goal <= 2x)")
    print(f"heavy modules imported by the app at start-up: {', '.join(sorted(heavy))}")


if __name__ == "__main__":
    main()
