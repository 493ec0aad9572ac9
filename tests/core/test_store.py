import sqlite3
import time

import pytest

from mimo_desktop.core.conversation import GenerationStats, MessageState, Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.schema import SCHEMA_VERSION
from mimo_desktop.core.store import INTERRUPTED, Store, fts_query, quarantine_damaged


def test_conversation_round_trip_survives_reopen(mimo_home):
    store = Store.open(mimo_home)
    conv = store.create_conversation("Holiday photos")
    user = store.add_message(conv.id, Role.USER, "What is in this picture?")
    answer = store.add_message(conv.id, Role.ASSISTANT, "A beach at sunset.")
    store.update_message(answer.id, stats=GenerationStats(output_tokens=6, ttft_s=0.05, mtp_drafted=4, mtp_accepted=3))
    store.close()

    again = Store.open(mimo_home)
    [c] = again.conversations()
    assert c.title == "Holiday photos"
    thread = again.thread(c.id)
    assert [(m.role, m.text) for m in thread] == [
        (Role.USER, "What is in this picture?"),
        (Role.ASSISTANT, "A beach at sunset."),
    ]
    assert thread[1].parent_id == user.id
    assert thread[1].stats.acceptance_rate == 0.75
    again.close()


def test_database_uses_wal_foreign_keys_and_current_schema(store):
    conn = sqlite3.connect(store.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_migration_from_version_1_keeps_old_conversations(mimo_home):
    from mimo_desktop.core import schema

    mimo_home.mkdir(parents=True)
    conn = sqlite3.connect(mimo_home / "conversations.sqlite3", isolation_level=None)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'old', 0, 0)")
    conn.execute(
        "INSERT INTO messages(conversation_id, role, text, state, created_at, updated_at)"
        " VALUES (1, 'user', 'written by version 1', 'complete', 0, 0)"
    )
    conn.close()

    store = Store.open(mimo_home)
    [msg] = store.all_messages(1)
    assert msg.text == "written by version 1" and msg.reasoning == ""
    store.close()


def test_newer_schema_is_refused_with_a_clear_message(mimo_home):
    mimo_home.mkdir(parents=True)
    conn = sqlite3.connect(mimo_home / "conversations.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer MiMo Desktop"):
        Store.open(mimo_home)


def test_branches_edit_and_switch(store):
    conv = store.create_conversation("branches")
    q1 = store.add_message(conv.id, Role.USER, "first question")
    a1 = store.add_message(conv.id, Role.ASSISTANT, "first answer")
    # Regenerate: a second answer under the same question.
    a2 = store.add_message(conv.id, Role.ASSISTANT, "second answer", parent_id=q1.id)
    assert store.siblings(a1.id) == [a1.id, a2.id]
    assert [m.text for m in store.thread(conv.id)] == ["first question", "second answer"]
    # Edit the question: a new branch from the root.
    q2 = store.add_message(conv.id, Role.USER, "edited question", parent_id=None)
    assert store.siblings(q1.id) == [q1.id, q2.id]
    assert [m.text for m in store.thread(conv.id)] == ["edited question"]
    # Switching back to the first question shows its newest answer.
    store.switch_branch(q1.id)
    assert [m.text for m in store.thread(conv.id)] == ["first question", "second answer"]


def test_delete_can_be_undone_until_purged(store):
    conv = store.create_conversation("keep me")
    store.add_message(conv.id, Role.USER, "hello")
    store.delete_conversation(conv.id)
    assert store.conversations() == []
    assert store.search("hello") == []
    store.restore_conversation(conv.id)
    assert [c.title for c in store.conversations()] == ["keep me"]
    store.delete_conversation(conv.id)
    assert store.purge_deleted() == 1
    with pytest.raises(StoreError, match="does not exist"):
        store.conversation(conv.id)


def test_full_text_search_finds_words_and_prefixes_and_tolerates_syntax(store):
    a = store.create_conversation("Cats")
    store.add_message(a.id, Role.USER, "Why do cats purr when they are happy?")
    b = store.create_conversation("Trains")
    store.add_message(b.id, Role.ASSISTANT, "Mit dem Zug nach München fahren.")
    hits = store.search("cats purr")
    assert [h.conversation_id for h in hits] == [a.id]
    assert "[purr]" in hits[0].snippet
    assert [h.conversation_id for h in store.search("munch")] == [b.id]  # diacritics folded, prefix
    assert store.search('AND OR "unbalanced (') == []
    assert store.search("   ") == []
    assert [c.id for c in store.search_conversations("train")] == [b.id]  # title match


def test_search_sees_text_updated_while_streaming(store):
    conv = store.create_conversation()
    msg = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    store.update_message(msg.id, text="the answer mentions xylophones")
    assert [h.message_id for h in store.search("xylophone")] == [msg.id]


def test_streaming_answers_left_by_a_crash_are_marked_stopped_on_open(mimo_home):
    store = Store.open(mimo_home)
    conv = store.create_conversation()
    msg = store.add_message(conv.id, Role.ASSISTANT, "half an ans", state=MessageState.STREAMING)
    store._conn.close()  # simulated crash: no orderly finish
    again = Store.open(mimo_home)
    recovered = again.message(msg.id)
    assert recovered.state is MessageState.STOPPED
    assert recovered.text == "half an ans"
    assert recovered.error == INTERRUPTED
    again.close()


def test_attachments_are_content_addressed(store, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"x" * 5000)
    copy = tmp_path / "copy-of-photo.jpg"
    copy.write_bytes(photo.read_bytes())
    a = store.add_attachment(photo, "image", mime="image/jpeg", tokens=255)
    b = store.add_attachment(copy, "image")
    assert a.sha256 == b.sha256
    stored = store.attachment_path(a)
    assert stored.read_bytes() == photo.read_bytes()
    assert len(list(store.blobs.root.rglob("*"))) == 2  # one folder, one file
    conv = store.create_conversation()
    msg = store.add_message(conv.id, Role.USER, "look", attachments=[a, b])
    assert [(x.name, x.tokens) for x in store.message(msg.id).attachments] == [
        ("photo.jpg", 255),
        ("copy-of-photo.jpg", None),
    ]


def test_locked_database_at_start_gives_a_clear_message(mimo_home):
    Store.open(mimo_home).close()
    from locker import Locker

    with Locker(mimo_home / "conversations.sqlite3"), pytest.raises(StoreError, match="locked by another program"):
        Store.open(mimo_home, busy_timeout_s=0.05)  # the start-up's own writes cannot wait for it


def test_corrupt_database_gives_a_clear_message_and_can_be_moved_aside(mimo_home):
    mimo_home.mkdir(parents=True)
    db = mimo_home / "conversations.sqlite3"
    db.write_bytes(b"this is not sqlite at all" * 200)
    with pytest.raises(StoreError, match="damaged"):
        Store.open(mimo_home)
    kept = quarantine_damaged(db)
    assert kept.read_bytes().startswith(b"this is not sqlite")
    Store.open(mimo_home).close()  # a fresh database now opens


def test_full_disk_gives_a_clear_message_and_keeps_earlier_data(store):
    conv = store.create_conversation("before the disk filled")
    store.add_message(conv.id, Role.USER, "saved")
    pages = store.on_writer(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    store.on_writer(lambda c: c.execute(f"PRAGMA max_page_count = {pages + 1}"))  # SQLite's own SQLITE_FULL
    with pytest.raises(StoreError, match="disk holding .* is full, so this was not saved"):
        store.add_message(conv.id, Role.ASSISTANT, "x" * 200_000)
    assert [m.text for m in store.thread(conv.id)] == ["saved"]


def test_fts_query_quotes_every_word():
    assert fts_query('cats "and" dogs') == '"cats" "and" "dogs"*'
    assert fts_query("--") == ""


def test_timestamps_and_updated_order(store):
    older = store.create_conversation("older")
    time.sleep(0.01)
    newer = store.create_conversation("newer")
    assert [c.id for c in store.conversations()] == [newer.id, older.id]
    time.sleep(0.01)
    store.add_message(older.id, Role.USER, "bump")
    assert [c.id for c in store.conversations()] == [older.id, newer.id]

