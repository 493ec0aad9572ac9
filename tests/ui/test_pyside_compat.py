"""The PySide6 6.12 / CPython 3.11 None-reference bug must not abort the app (see ui/pyside_compat.py)."""

import subprocess
import sys

SCRIPT = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel
{guard}
class Emitter(QObject):
    changed = Signal(bool)

app = QApplication([])
label, emitter = QLabel(), Emitter()
for _ in range(50000):
    label.setText("a")  # a void Qt method: with the bug, each call drops a reference of None
    emitter.changed.emit(False)  # emit returns True: with the bug, one reference of True
print("alive")
"""


def run(guard: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(guard=guard)], capture_output=True, text=True,
                          timeout=120)


def test_many_void_qt_calls_do_not_abort_the_process_with_the_guard():
    out = run("from mimo_desktop.ui.pyside_compat import keep_none_alive; keep_none_alive()")
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-500:]


def test_the_guard_is_needed_exactly_where_the_bug_is():
    from mimo_desktop.ui.pyside_compat import affected

    out = run("")
    if affected():
        assert out.returncode != 0 and "dealloc" in out.stderr
    else:
        assert out.returncode == 0
