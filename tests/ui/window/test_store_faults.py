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

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core"))  # locker, test_salvage
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


def test_a_damaged_history_is_recovered_with_the_persons_consent_and_counted(qapp, mimo_home, monkeypatch, capsys):
    from PySide6.QtWidgets import QMessageBox
    from test_salvage import build_history, damage_a_page_of_messages

    from mimo_desktop.app import open_store_or_explain

    db, expected = build_history(mimo_home, conversations=10, answers=20)
    damage_a_page_of_messages(db)
    asked, told = [], []
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text: asked.append(text) or QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: told.append(text))
    store = open_store_or_explain(mimo_home)
    try:
        assert "damaged" in asked[0] and "recover what can still be read" in asked[0]
        recovered = sum(len(store.all_messages(c.id)) for c in store.conversations())
        assert len(store.conversations()) == 10 and 0 < len(expected) - recovered < 20
        [kept] = mimo_home.glob("*.damaged-????????-??????")
        assert told == [f"Recovered 10 conversations and {recovered} messages from the damaged history "
                        f"(row-by-row copy). The damaged file is kept as {kept}."]
    finally:
        store.close()


def test_a_read_only_history_says_so_in_the_window(qtbot, mimo_home, monkeypatch, no_thread_leaks):
    import mimo_desktop.core.store as store_module
    from mimo_desktop.app import build_window
    from mimo_desktop.core.store import Store

    Store.open(mimo_home).close()

    def full(*_a, **_k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_module, "open_for_writing", full)
    store = Store.open(mimo_home)
    window, controller = build_window(store, start_engine=False)
    qtbot.addWidget(window)
    try:
        assert window.notice.text() == store.read_only_reason and "open read only" in store.read_only_reason
        send(qtbot, window, "typed on a full disk")
        assert window.composer.text() == "typed on a full disk"  # refused, and kept
        assert window.notice.text() == store.read_only_reason
    finally:
        controller.shutdown()
        store.close()
