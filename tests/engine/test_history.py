"""A request's turns and its earlier media (engine.history, Qt-free), from a real store and real files:
user and assistant turns alternate as chat templates require, a failed answer keeps its turn, and an
earlier file that is gone leaves a note instead of sinking the request."""

import hashlib

from PIL import Image

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.core.store import Store
from mimo_desktop.engine.history import NO_ANSWER_TURN, MediaJob, prepare_history, turns_from_thread
from mimo_desktop.media.cache import PreparedCache


def test_turns_alternate_even_after_a_failed_answer_and_an_unanswered_question(mimo_home):
    store = Store.open(mimo_home)
    try:
        conv = store.create_conversation()
        store.add_message(conv.id, Role.SYSTEM, "Be brief.")
        store.add_message(conv.id, Role.USER, "What is in the picture?")
        answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.FAILED)
        store.add_message(conv.id, Role.USER, "Try again?")  # the failed answer keeps its turn
        store.add_message(conv.id, Role.USER, "Hello?")  # a question never answered: a marker between
        store.update_message(answer.id, reasoning="looked at it")
        thread = store.thread(conv.id)
    finally:
        store.close()
    turns = turns_from_thread(thread, {})
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[1].text == NO_ANSWER_TURN and turns[1].reasoning == "looked at it"
    assert turns[3].text == NO_ANSWER_TURN and turns[4].text == "Hello?"
    assert all(t.reasoning == "" for t in turns if t.role == "user")


def test_an_earlier_image_is_prepared_once_and_a_missing_file_leaves_a_note(tmp_path):
    photo = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo)
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    gone = tmp_path / "gone.wav"
    cache = PreparedCache(None)
    job = MediaJob("r1", ((1, photo, sha, "image"), (2, gone, "0" * 64, "audio")), None, cache)

    first = prepare_history(job)
    (item,) = first.by_message[1]
    assert item.kind == "image" and item.tokens > 0
    assert 2 not in first.by_message
    assert len(first.notes) == 1 and "gone.wav" in first.notes[0] and "left out" in first.notes[0]
    assert first.unsaved == [item]

    again = prepare_history(MediaJob("r2", ((1, photo, sha, "image"),), None, cache))
    assert again.by_message[1] == (item,) and again.unsaved == []  # from the cache: not decoded again
