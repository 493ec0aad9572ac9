"""The sidebar's read-only queries against a real store: previews, snippets, the branch a hit is on."""

import time
from datetime import date, datetime

import pytest

from mimo_desktop.core.conversation import Role
from mimo_desktop.core.queries import (
    HIT_END,
    HIT_START,
    date_group,
    empty_conversation,
    on_shown_branch,
    preview_line,
    read_connection,
    search_rows,
    sidebar_rows,
    split_hits,
)


def test_rows_show_the_latest_message_of_the_shown_branch_as_one_plain_line(store):
    conv = store.create_conversation("Robins")
    store.add_message(conv.id, Role.USER, "What bird is this?")
    store.add_message(conv.id, Role.ASSISTANT, "## A robin\n\nIt is a **European robin**,\n   eating a `worm`.")
    [row] = sidebar_rows(read_connection(store))
    assert (row.title, row.preview, row.empty) == ("Robins", "A robin It is a European robin, eating a worm.", False)


def test_a_failed_empty_answer_previews_the_question_and_a_photo_only_message_its_file(store, tmp_path):
    conv = store.create_conversation("broken")
    question = store.add_message(conv.id, Role.USER, "Describe the lake")
    store.add_message(conv.id, Role.ASSISTANT, "", parent_id=question.id)
    photo = tmp_path / "lake.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    other = store.create_conversation("photo only")
    store.add_message(other.id, Role.USER, "", attachments=[store.add_attachment(photo, "image")])
    rows = {r.title: r.preview for r in sidebar_rows(read_connection(store))}
    assert rows == {"broken": "Describe the lake", "photo only": "📎 lake.jpg"}


def test_long_messages_are_cut_with_an_ellipsis_and_fences_dropped():
    line = preview_line("```python\n" + "word " * 100 + "\n```")
    assert len(line) == 160 and line.endswith("…") and "```" not in line and "python" not in line


def test_rows_are_newest_first_and_empty_ones_are_marked(store):
    old = store.create_conversation("old")
    store.add_message(old.id, Role.USER, "hello")
    new = store.create_conversation("")
    rows = sidebar_rows(read_connection(store))
    assert [(r.conversation_id, r.empty) for r in rows] == [(new.id, True), (old.id, False)]
    assert empty_conversation(read_connection(store)) == new.id
    store.rename_conversation(new.id, "named now")
    assert empty_conversation(read_connection(store)) is None


def test_search_marks_the_matched_words_and_names_the_message_even_on_another_branch(store):
    conv = store.create_conversation("Animals")
    question = store.add_message(conv.id, Role.USER, "Tell me about striped animals")
    first = store.add_message(conv.id, Role.ASSISTANT, "The zebra has black and white stripes.")
    second = store.add_message(conv.id, Role.ASSISTANT, "Tigers have stripes too.", parent_id=question.id)
    store.create_conversation("Vehicles")
    conn = read_connection(store)
    assert on_shown_branch(conn, second.id) and not on_shown_branch(conn, first.id)

    [row] = search_rows(conn, "zebr")
    assert row.conversation_id == conv.id and row.matched_message_id == first.id
    assert f"{HIT_START}zebra{HIT_END}" in row.preview
    assert split_hits(row.preview) == [("The ", False), ("zebra", True), (" has black and white stripes.", False)]


def test_search_by_title_alone_keeps_the_plain_preview_and_skips_deleted_conversations(store):
    kept = store.create_conversation("Zebra facts")
    store.add_message(kept.id, Role.USER, "nothing relevant here")
    gone = store.create_conversation("gone")
    store.add_message(gone.id, Role.USER, "a zebra")
    store.delete_conversation(gone.id)
    [row] = search_rows(read_connection(store), "zebra")
    assert (row.title, row.preview, row.matched_message_id) == ("Zebra facts", "nothing relevant here", None)


def test_search_with_only_punctuation_matches_nothing_and_raises_nothing(store):
    store.create_conversation("x")
    assert search_rows(read_connection(store), '"*)(') == []


def test_date_groups_read_like_a_calendar():
    today = date(2026, 12, 1)

    def at(y, m, d, hour=12):
        return datetime(y, m, d, hour).timestamp()

    assert date_group(at(2026, 12, 1, 0), today) == "Today"
    assert date_group(at(2026, 11, 30, 23), today) == "Yesterday"
    assert date_group(at(2026, 11, 24), today) == "Previous 7 days"
    assert date_group(at(2026, 11, 23), today) == "November 2026"
    assert date_group(at(2025, 12, 25), today) == "December 2025"
    assert date_group(time.time()) == "Today"


def test_a_failing_database_becomes_a_sentence_not_a_traceback(store):
    from mimo_desktop.core.errors import StoreError

    conn = read_connection(store)
    conn.execute("DROP TABLE message_attachments")  # as a damaged file would read
    with pytest.raises(StoreError, match=r"The conversation database .*conversations\.sqlite3 failed: no such table"):
        sidebar_rows(conn)
