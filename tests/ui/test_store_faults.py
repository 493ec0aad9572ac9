"""The window while another program holds the history locked: it keeps running, says so, loses nothing.

The lock is held by a real child process; the GUI thread's liveness is measured by a QTimer that
must keep ticking while the answer streams and ends under the lock.
"""

import sqlite3
import sys
import time
from pathlib import Path

from chat_helpers import send, wait_idle
from PySide6.QtCore import QTimer

from mimo_desktop.core.conversation import MessageState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from locker import Locker  # noqa: E402

# The old store waited out SQLite's 2 s busy timeout on the GUI thread at every flush.
OLD_FREEZE_S = 2.0


def on_disk(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT text, state FROM messages WHERE role = 'assistant'").fetchone()
    finally:
        conn.close()


def test_a_lock_across_the_end_of_an_answer_never_freezes_the_window_and_loses_nothing(
        qtbot, engine_window, store):
    window = engine_window
    send(qtbot, window, "tokens=3 then=hang")
    qtbot.waitUntil(lambda: "t2" in window.chat.plain_text(), timeout=10000)
    streamer = window.controller.streamer
    request_id = streamer.current.request_id
    assert store.wait_written(5)
    ticks: list[float] = []
    heartbeat = QTimer(interval=10)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start()
    with Locker(store.db_path):
        locked_at = time.monotonic()
        for i in range(40):  # the engine keeps streaming for 2.4 s under the lock, then the answer ends
            window.controller.bridge.textReceived.emit(request_id, f"w{i} ", 1, False)
            qtbot.wait(60)
        streamer.stop()
        wait_idle(qtbot, window)
        qtbot.waitUntil(lambda: "locked by another program; retrying" in window.notice.text(), timeout=5000)
        assert "words of the answer are kept in memory" in window.notice.text()
        qtbot.wait(300)
        released_at = time.monotonic()
        text, state = on_disk(store.db_path)
        assert "w39" not in text and state == "streaming"  # the disk does not have it yet, the window does
        assert "w39" in window.chat.plain_text()
    heartbeat.stop()
    during = [t for t in ticks if locked_at <= t <= released_at]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) > 50 and max(gaps) < OLD_FREEZE_S / 2, f"the GUI thread stalled {max(gaps):.2f} s"
    qtbot.waitUntil(lambda: "written again" in window.notice.text(), timeout=10000)
    text, state = on_disk(store.db_path)
    assert text == "t0 t1 t2 " + "".join(f"w{i} " for i in range(40)) and state == MessageState.STOPPED.value
