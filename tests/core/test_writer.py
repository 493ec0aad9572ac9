"""The one database writer: a lock held by another program or a full disk never loses a write.

The lock is held by a real child process (tests/core/db_locker.py); the full disk is SQLite's own
SQLITE_FULL (``max_page_count`` on the writer's connection), then freed.
"""

import sqlite3
import threading

import pytest
from locker import Locker

from mimo_desktop.core.conversation import GenerationStats, MessageState, Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.recovery import unsaved_path
from mimo_desktop.core.store import INTERRUPTED, Store
from mimo_desktop.core.streaming import StreamWriter
from mimo_desktop.core.writer import FULL, LOCKED, OK


def on_disk(db_path, message_id):
    """What another program reading the file sees: only committed data."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT text, state, error FROM messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        conn.close()


class Statuses:
    def __init__(self) -> None:
        self.seen = []
        self.changed = threading.Condition()

    def __call__(self, status) -> None:
        with self.changed:
            self.seen.append(status)
            self.changed.notify_all()

    def wait_for(self, state, timeout=10.0):
        with self.changed:
            assert self.changed.wait_for(lambda: any(s.state == state for s in self.seen), timeout), self.seen
            return next(s for s in reversed(self.seen) if s.state == state)


@pytest.fixture
def store(mimo_home):
    s = Store.open(mimo_home)
    yield s
    s.close()


def test_a_lock_across_the_end_of_an_answer_loses_nothing(store):
    statuses = Statuses()
    store.on_status = statuses
    conv = store.create_conversation("locked")
    store.add_message(conv.id, Role.USER, "question")
    answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    writer = StreamWriter(store, answer.id, interval_s=0.0)
    writer.append("before the lock ")
    assert store.wait_written(5)
    with Locker(store.db_path):
        for i in range(300):
            writer.append(f"w{i} ")
        writer.finish(MessageState.COMPLETE, stats=GenerationStats(output_tokens=301))
        locked = statuses.wait_for(LOCKED)
        assert "The history is locked by another program; retrying." in store.status_sentence(locked)
        assert locked.unsaved_words > 0
        # the window reads the answer whole although the disk does not have it yet
        assert store.message(answer.id).text == writer.text
        assert store.message(answer.id).state is MessageState.COMPLETE
        assert on_disk(store.db_path, answer.id)[0] == "before the lock "
        with pytest.raises(StoreError, match="locked by another program, so this was not saved"):
            store.add_message(conv.id, Role.USER, "sent while locked")  # gives up, the caller keeps the text
    statuses.wait_for(OK)
    assert store.wait_written(10)
    text, state, _ = on_disk(store.db_path, answer.id)
    assert text == "before the lock " + "".join(f"w{i} " for i in range(300)) and state == "complete"
    assert [m.text for m in store.thread(conv.id)] == ["question", writer.text]  # the cancelled insert never ran


def test_a_full_disk_keeps_the_answer_in_memory_and_writes_it_once_there_is_room(store):
    statuses = Statuses()
    store.on_status = statuses
    conv = store.create_conversation("full")
    answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    pages = store.on_writer(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    store.on_writer(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
    text = "word " * 40_000  # more than the file may grow by
    store.update_message(answer.id, text=text, state=MessageState.COMPLETE)
    full = statuses.wait_for(FULL)
    assert store.status_sentence(full).startswith("Disk full: 40000 words kept in memory, retrying.")
    assert on_disk(store.db_path, answer.id)[0] == ""
    assert store.message(answer.id).text == text
    store.on_writer(lambda c: c.execute("PRAGMA max_page_count = 1073741823"), front=True)  # room again
    statuses.wait_for(OK)
    assert store.wait_written(10)
    assert on_disk(store.db_path, answer.id)[:2] == (text, "complete")


def test_an_answer_still_unwritten_at_close_is_kept_and_written_at_the_next_start(mimo_home):
    store = Store.open(mimo_home)
    conv = store.create_conversation("closing while locked")
    answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    store.update_message(answer.id, text="the first half ")
    assert store.wait_written(5)
    with Locker(store.db_path):
        store.rename_conversation(conv.id, "renamed while locked")
        store.update_message(answer.id, text="the first half and the rest", state=MessageState.COMPLETE)
        import mimo_desktop.core.store as store_module

        store_module.CLOSE_DRAIN_S = 0.5
        try:
            with pytest.raises(StoreError, match=r"kept in .*unsaved.json and written at the next start"):
                store.close()
        finally:
            store_module.CLOSE_DRAIN_S = 5.0
        assert unsaved_path(store.db_path).exists()
        assert "the rest" not in on_disk(store.db_path, answer.id)[0]
    again = Store.open(mimo_home)
    try:
        message = again.message(answer.id)
        assert (message.text, message.state, message.error) == ("the first half and the rest",
                                                                MessageState.COMPLETE, "")
        assert message.error != INTERRUPTED and again.conversation(conv.id).title == "renamed while locked"
        assert again.replayed == 2 and not unsaved_path(again.db_path).exists()
    finally:
        again.close()


def test_updates_are_merged_and_written_in_order(store):
    conv = store.create_conversation("a")
    store.rename_conversation(conv.id, "b")
    store.set_setting("theme", "dark")
    store.rename_conversation(conv.id, "c")
    store.delete_conversation(conv.id)
    store.restore_conversation(conv.id)
    assert store.conversation(conv.id).title == "c" and store.setting("theme") == "dark"
    assert store.wait_written(5)
    reopened = sqlite3.connect(store.db_path)
    assert reopened.execute("SELECT title, deleted_at FROM conversations").fetchall() == [("c", None)]
    reopened.close()


def test_an_update_that_lands_while_a_read_runs_is_never_missed(store, monkeypatch):
    conv = store.create_conversation("old title")
    locker = Locker(store.db_path)
    store.rename_conversation(conv.id, "new title")  # queued: the database is locked
    real_query = store._query

    def query_then_commit(sql, args=()):
        rows = real_query(sql, args)  # read while the rename is not on disk yet
        locker.release()
        assert store.wait_written(10)  # the rename lands and leaves the queue before the read ends
        return rows

    monkeypatch.setattr(store, "_query", query_then_commit)
    try:
        assert [c.title for c in store.conversations()] == ["new title"]
    finally:
        locker.release()


def test_a_write_the_database_refuses_is_still_shown_and_kept_for_the_next_start(mimo_home):
    store = Store.open(mimo_home)
    statuses = Statuses()
    store.on_status = statuses
    conv = store.create_conversation("refused")
    answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    store.on_writer(lambda c: c.execute(
        "CREATE TRIGGER refuse BEFORE UPDATE ON messages BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END"))
    store.update_message(answer.id, text="an answer the file would not take", state=MessageState.COMPLETE)
    failed = statuses.wait_for("failed")
    assert store.status_sentence(failed).endswith("refused a write: refused on purpose")
    assert store.message(answer.id).text == "an answer the file would not take"  # still shown
    with pytest.raises(StoreError, match="kept in .*unsaved.json and written at the next start"):
        store.close()
    conn = sqlite3.connect(store.db_path)
    conn.execute("DROP TRIGGER refuse")
    conn.commit()
    conn.close()
    again = Store.open(mimo_home)
    try:
        assert again.message(answer.id).text == "an answer the file would not take"
        assert again.message(answer.id).state is MessageState.COMPLETE
    finally:
        again.close()


def test_an_unsaved_change_refused_again_at_start_is_kept_aside_and_the_history_opens(mimo_home):
    from mimo_desktop.core.recovery import unsaved_path, write_unsaved

    store = Store.open(mimo_home)
    conv = store.create_conversation("two answers")
    first = store.add_message(conv.id, Role.ASSISTANT, "one")
    second = store.add_message(conv.id, Role.ASSISTANT, "two")
    store.close()
    write_unsaved(store.db_path, {("messages", first.id): {"text": "one, finished"},
                                  ("messages", second.id): {"text": "two, finished"}})
    conn = sqlite3.connect(store.db_path)
    conn.execute(f"CREATE TRIGGER refuse BEFORE UPDATE ON messages WHEN old.id = {second.id} "
                 "BEGIN SELECT RAISE(ABORT, 'still refused'); END")
    conn.commit()
    conn.close()
    again = Store.open(mimo_home)
    try:
        assert again.replayed == 1 and again.message(first.id).text == "one, finished"
        [kept] = mimo_home.glob("*.unsaved.json.refused-*")
        assert "two, finished" in kept.read_text() and not unsaved_path(again.db_path).exists()
    finally:
        again.close()
