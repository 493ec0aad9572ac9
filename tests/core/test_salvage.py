"""A damaged history: what can be read comes back in a new database, the damaged file is kept."""

import shutil
import sqlite3
import subprocess

import pytest

from mimo_desktop.core import salvage as salvage_module
from mimo_desktop.core.conversation import Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.salvage import salvage
from mimo_desktop.core.store import Store

PAGE = 4096


def recover_works(tmp_path) -> bool:
    """Debian 12's sqlite3 3.40 tool is built without the page reader .recover needs."""
    tool = shutil.which("sqlite3")
    if tool is None:
        return False
    db = tmp_path / "probe.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    out = subprocess.run([tool, str(db), ".recover"], capture_output=True, text=True)
    return out.returncode == 0 and "CREATE TABLE" in out.stdout


def build_history(home, conversations=40, answers=30):
    store = Store.open(home)
    expected = {}
    for c in range(conversations):
        conv = store.create_conversation(f"conversation {c}")
        for a in range(answers):
            q = store.add_message(conv.id, Role.USER, f"question {c}.{a} " + "q" * 200)
            r = store.add_message(conv.id, Role.ASSISTANT, f"answer {c}.{a} " + "r" * 400)
            expected[q.id], expected[r.id] = q.text, r.text
    store.close()
    db = home / "conversations.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db, expected


def damage_a_page_of_messages(db):
    """Overwrite one 4 KiB page in the middle of the messages table with garbage."""
    conn = sqlite3.connect(db)
    pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf'")]
    conn.close()
    victim = pages[len(pages) // 2]
    with open(db, "r+b") as f:
        f.seek((victim - 1) * PAGE)
        f.write(b"\xde\xad\xbe\xef" * (PAGE // 4))
    return len(pages)


@pytest.mark.parametrize("with_cli", [True, False], ids=["sqlite3-recover", "row-by-row"])
def test_one_damaged_page_loses_only_its_rows(mimo_home, monkeypatch, tmp_path, with_cli):
    if with_cli and not recover_works(tmp_path):
        pytest.skip("this machine's sqlite3 tool cannot .recover (the row-by-row case still runs)")
    db, expected = build_history(mimo_home)
    leaves = damage_a_page_of_messages(db)
    per_page = len(expected) / leaves
    with pytest.raises(StoreError, match="damaged"):
        Store.open(mimo_home)
    if not with_cli:
        monkeypatch.setattr(salvage_module.shutil, "which", lambda name: None)
    report = salvage(db)
    assert report.method == ("sqlite3 .recover" if with_cli else "row-by-row copy")
    assert report.kept.exists() and report.kept.read_bytes().count(b"\xde\xad\xbe\xef") >= PAGE // 4
    assert report.conversations == 40
    lost = len(expected) - report.messages
    assert 0 < lost <= 2 * per_page + 1, f"{lost} messages lost; a page held {per_page:.1f}"
    assert report.sentence().startswith(f"Recovered 40 conversations and {report.messages} messages")
    store = Store.open(mimo_home)
    try:
        convs = store.conversations()
        assert sorted(c.title for c in convs) == sorted(f"conversation {c}" for c in range(40))
        recovered = {m.id: m.text for c in convs for m in store.all_messages(c.id)}
        assert len(recovered) == report.messages
        assert all(expected[i] == text for i, text in recovered.items())  # nothing garbled
        for conv in convs:  # every conversation opens on a thread
            assert store.thread(conv.id)
        assert store.search("answer")  # full-text search rebuilt
    finally:
        store.close()


def test_a_file_that_is_not_a_database_at_all_gives_an_empty_history(mimo_home):
    mimo_home.mkdir(parents=True)
    db = mimo_home / "conversations.sqlite3"
    db.write_bytes(b"this is not sqlite at all" * 200)
    report = salvage(db)
    assert (report.conversations, report.messages) == (0, 0)
    assert report.kept.read_bytes().startswith(b"this is not sqlite")
    Store.open(mimo_home).close()


def test_unsaved_writes_of_the_last_session_survive_a_salvage(mimo_home):
    from mimo_desktop.core.recovery import write_unsaved

    db, expected = build_history(mimo_home, conversations=10, answers=20)
    write_unsaved(db, {("messages", i): {"text": f"replayed {i}"} for i in expected})
    damage_a_page_of_messages(db)
    report = salvage(db)
    store = Store.open(mimo_home)
    try:
        assert store.replayed == len(expected)
        texts = {m.id: m.text for c in store.conversations() for m in store.all_messages(c.id)}
        assert len(texts) == report.messages and texts == {i: f"replayed {i}" for i in texts}
    finally:
        store.close()
