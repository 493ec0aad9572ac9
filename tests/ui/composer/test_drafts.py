"""Drafts belong to their conversation: switching swaps them, a restart brings them back, sending clears them."""

import json

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from mimo_desktop.app import build_window
from mimo_desktop.core.conversation import Role
from mimo_desktop.core.store import Store


@pytest.fixture(autouse=True)
def system_temp(tmp_path, monkeypatch):
    """The system's temporary folder, where the composer keeps pasted pictures: apart from the user's files."""
    import tempfile

    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "lake.png"
    Image.new("RGB", (64, 48), (30, 90, 200)).save(path)
    return path


def chat(store, title, text="hello"):
    conv = store.create_conversation(title)
    store.add_message(conv.id, Role.USER, text)
    return conv


def open_chat(window, store, *chats):
    """Conversations with one question each (a title, or (title, text)), listed; the first one open."""
    convs = [chat(store, *(c if isinstance(c, tuple) else (c,))) for c in chats]
    window.controller.refresh_list()
    window.controller.open_conversation(convs[0].id)
    return convs


def names(composer):
    return [d.path.name for d in composer.attachments()]


def type_into(qtbot, window, text):
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)


def restart(qtbot, window, store):
    """Quit as a person does (the window's close), then start the app again on the same data folder."""
    window.close()
    again, controller = build_window(store, start_engine=False)
    qtbot.addWidget(again)
    again.show()
    again.controller = controller
    return again


def test_switching_conversations_swaps_their_drafts(qtbot, window, store, photo):
    a, b = open_chat(window, store, "A", "B")
    type_into(qtbot, window, "half a question for A")
    window.composer.add_files([photo])
    window.controller.open_conversation(b.id)
    assert window.composer.text() == "" and names(window.composer) == []
    type_into(qtbot, window, "something for B")
    window.controller.open_conversation(a.id)
    assert window.composer.text() == "half a question for A"
    assert names(window.composer) == ["lake.png"]
    window.controller.open_conversation(b.id)
    assert window.composer.text() == "something for B" and names(window.composer) == []


def test_quitting_keeps_the_draft_with_its_attachments_and_a_pasted_picture(qtbot, window, store, photo, mimo_home):
    [conv] = open_chat(window, store, "trip")
    type_into(qtbot, window, "What is in these?")
    window.composer.add_files([photo])
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("orange"))
    window.composer.add_image(picture)
    pasted = window.composer.attachments()[1].path
    window.controller.shutdown()
    assert not pasted.exists()  # the composer's scratch folder is gone, as at every quit

    again = restart(qtbot, window, store)
    assert again.controller.current_id == conv.id
    assert again.composer.text() == "What is in these?"
    restored = again.composer.attachments()
    assert [d.path.name for d in restored] == ["lake.png", pasted.name]
    assert restored[0].path == photo  # a file of the user's own is named where it is
    assert restored[1].path.is_file() and mimo_home in restored[1].path.parents  # the pasted one: the draft's copy
    again.controller.shutdown()


def test_a_draft_typed_before_any_conversation_exists_comes_back(qtbot, window, store):
    type_into(qtbot, window, "first words ever")
    again = restart(qtbot, window, store)
    assert store.conversations() == []
    assert again.composer.text() == "first words ever"
    again.controller.shutdown()


def test_sending_clears_the_draft_for_good(qtbot, window, store, mimo_home):
    [conv] = open_chat(window, store, "sent")
    type_into(qtbot, window, "on its way")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    assert store.thread(conv.id)[-1].text == "on its way"
    assert json.loads((mimo_home / "drafts.json").read_text()) == {}
    again = restart(qtbot, window, store)
    assert again.composer.text() == ""
    again.controller.shutdown()


def test_typing_is_written_to_disk_within_seconds_without_quitting(qtbot, window, store, mimo_home):
    [conv] = open_chat(window, store, "crash-safe")
    type_into(qtbot, window, "if the app dies now")

    def on_disk():
        assert (mimo_home / "drafts.json").exists()
        saved = json.loads((mimo_home / "drafts.json").read_text())
        assert saved.get(str(conv.id), {}).get("text") == "if the app dies now"

    qtbot.waitUntil(on_disk, timeout=3000)


def test_a_vanished_file_is_named_and_the_rest_of_the_draft_comes_back(qtbot, window, store, photo):
    [conv] = open_chat(window, store, "vanish")
    type_into(qtbot, window, "keep this text")
    window.composer.add_files([photo])
    window.controller.shutdown()
    photo.unlink()
    again = restart(qtbot, window, store)
    assert again.composer.text() == "keep this text" and names(again.composer) == []
    assert str(photo) in again.notice.text() and "no longer there" in again.notice.text()
    again.controller.shutdown()


def test_ctrl_n_does_not_reuse_an_empty_conversation_that_holds_a_draft(qtbot, window, store):
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    first = window.controller.current_id
    type_into(qtbot, window, "a draft in the blank one")
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.controller.current_id != first and len(store.conversations()) == 2
    assert window.composer.text() == ""
    window.controller.open_conversation(first)
    assert window.composer.text() == "a draft in the blank one"


def test_an_unreadable_drafts_file_is_kept_aside_and_said(qtbot, mimo_home, no_thread_leaks):
    mimo_home.mkdir(parents=True, exist_ok=True)
    (mimo_home / "drafts.json").write_text("{ not json")
    store = Store.open(mimo_home)
    try:
        window, controller = build_window(store, start_engine=False)
        qtbot.addWidget(window)
        assert "could not be read" in window.notice.text()
        assert (mimo_home / "drafts.json.unreadable").read_text() == "{ not json"
        controller.shutdown()
    finally:
        store.close()


def test_the_sidebar_marks_conversations_that_hold_a_draft(qtbot, window, store, photo):
    a, b = open_chat(window, store, ("A", "first"), ("B", "second"))
    type_into(qtbot, window, "half   a")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer.edit, "question")
    window.controller.open_conversation(b.id)
    rows = dict(zip(window.conversations.titles(), window.conversations.drafts()))
    assert rows == {"B": "", "A": "half a question"}  # the open one's draft is in the composer, not the list
    window.composer.add_files([photo])
    window.controller.open_conversation(a.id)
    window.controller.refresh_list()
    assert dict(zip(window.conversations.titles(), window.conversations.drafts())) == {"B": "📎 lake.png", "A": ""}
    lst = window.conversations.list
    image = lst.viewport().grab().toImage()
    rect = lst.visualItemRect(window.conversations.item_of(b.id))
    link = lst.palette().link().color()
    y = rect.top() + rect.height() * 3 // 4
    accent = sum(1 for x in range(rect.left(), rect.left() + 60)
                 if abs(image.pixelColor(x, y).hue() - link.hue()) < 25 and image.pixelColor(x, y).saturation() > 60)
    assert accent > 3, "no “Draft:” label in the accent colour"


def test_a_restored_draft_sent_just_before_a_kill_keeps_its_pasted_picture(qtbot, window, store, monkeypatch):
    """Session 1 keeps a pasted picture in its draft; session 2 sends it and dies before the copy; session 3
    must still find the draft's copy of the picture to finish that copy (its draft is gone, sent)."""
    from composer.helpers import wait_prepared

    [conv] = open_chat(window, store, "pasted")
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("teal"))
    window.composer.add_image(picture)
    again = restart(qtbot, window, store)
    wait_prepared(qtbot, again.composer, 1)
    [restored] = again.composer.attachments()
    # the app is killed right after the question is saved, before its background copy runs
    monkeypatch.setattr(again.controller.outbox, "copy_in_background", lambda shas: None)
    again.composer.edit.setPlainText("what colour?")
    again.composer.send_button.click()
    [attachment] = store.thread(conv.id)[-1].attachments
    assert not store.blobs.has(attachment.sha256) and restored.path.is_file()
    again.controller.shutdown()

    third = restart(qtbot, again, store)
    qtbot.waitUntil(lambda: store.blobs.has(attachment.sha256), timeout=10_000)  # the copy is finished
    assert store.attachment_path(attachment).read_bytes() == restored.path.read_bytes()
    third.controller.shutdown()


def test_the_first_question_once_sent_does_not_come_back_as_a_draft(qtbot, window, store, mimo_home):
    type_into(qtbot, window, "my very first question")
    qtbot.waitUntil(lambda: (mimo_home / "drafts.json").is_file()
                    and "new" in json.loads((mimo_home / "drafts.json").read_text()), timeout=3000)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    [conv] = store.conversations()
    assert store.thread(conv.id)[0].text == "my very first question"
    assert json.loads((mimo_home / "drafts.json").read_text()) == {}
    window.controller.delete_conversation(conv.id)
    assert window.controller.current_id is None
    assert window.composer.text() == ""  # not the question already sent


def test_the_draft_of_a_deleted_conversation_is_gone_after_a_restart(qtbot, window, store, mimo_home):
    kept, deleted = open_chat(window, store, "kept", "deleted")
    type_into(qtbot, window, "still wanted")
    window.controller.open_conversation(deleted.id)
    type_into(qtbot, window, "about to go")
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("purple"))
    window.composer.add_image(picture)
    window.controller.delete_conversation(deleted.id)
    window.controller.undo_delete(deleted.id)  # undo within the session brings the draft back
    assert window.composer.text() == "about to go"
    window.controller.delete_conversation(deleted.id)
    again = restart(qtbot, window, store)
    saved = json.loads((mimo_home / "drafts.json").read_text())
    assert str(deleted.id) not in saved and saved[str(kept.id)]["text"] == "still wanted"
    assert not list((mimo_home / "drafts").iterdir())  # its copy of the pasted picture too
    again.controller.shutdown()


def test_coming_back_to_a_draft_shows_its_attachments_prepared_at_once(qtbot, window, store, photo):
    """A switch is not a new attach: the prepared picture comes back as it was, not decoded again."""
    from composer.helpers import chip, wait_prepared

    a, b = open_chat(window, store, "A", "B")
    window.composer.add_files([photo])
    wait_prepared(qtbot, window.composer, 1)
    [before] = window.composer.attachments()
    shown = chip(window.composer).detail.text()
    window.controller.open_conversation(b.id)
    assert window.composer.attachments() == []
    window.controller.open_conversation(a.id)
    [after] = window.composer.attachments()
    assert after.prepared is before.prepared and not after.preparing  # no new decode
    assert chip(window.composer).detail.text() == shown != "Preparing…"
    assert window.composer.send_button.isEnabled()


def test_a_draft_copies_a_capture_off_the_gui_thread_and_keeps_it_across_a_restart(
        qtbot, window, store, mimo_home, monkeypatch):
    """A recording in the scratch folder can be large: its copy under drafts/ is made on a worker."""
    import shutil
    import threading

    copied_on = []
    real_copy = shutil.copyfile

    def spy(src, dst, *args, **kwargs):
        copied_on.append(threading.current_thread() is threading.main_thread())
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", spy)
    [conv] = open_chat(window, store, "recorded")
    recording = window.composer.scratch_path("recording", "png")  # what a capture writes there
    Image.new("RGB", (50, 40), (120, 20, 20)).save(recording)
    content = recording.read_bytes()
    window.composer.add_files([recording])
    type_into(qtbot, window, "listen")

    def kept_on_disk():
        saved = json.loads((mimo_home / "drafts.json").read_text()) if (mimo_home / "drafts.json").is_file() else {}
        [name] = saved.get(str(conv.id), {}).get("files", [None])
        assert name is not None
        assert (mimo_home / "drafts") in type(recording)(name).parents

    qtbot.waitUntil(kept_on_disk, timeout=5000)  # the save timer, then the copy, then a save naming it
    assert copied_on == [False]
    again = restart(qtbot, window, store)
    [restored] = again.composer.attachments()
    assert restored.path.name == recording.name and restored.path.read_bytes() == content
    again.controller.shutdown()


def test_drafts_left_long_ago_let_their_prepared_media_go_beyond_a_bound(qtbot, window, store, photo, monkeypatch):
    from composer.helpers import wait_prepared

    from mimo_desktop.media.cache import item_bytes
    from mimo_desktop.ui.composer import drafts

    a, b, c = open_chat(window, store, "A", "B", "C")
    window.composer.add_files([photo])
    wait_prepared(qtbot, window.composer, 1)
    monkeypatch.setattr(drafts, "KEEP_PREPARED_BYTES", item_bytes(window.composer.attachments()[0].prepared))
    window.controller.open_conversation(b.id)
    window.composer.add_files([photo])
    wait_prepared(qtbot, window.composer, 1)
    window.controller.open_conversation(c.id)  # A's and B's pictures held: over the bound, A's (older) goes
    window.controller.open_conversation(b.id)
    assert not window.composer.attachments()[0].preparing  # kept
    window.controller.open_conversation(a.id)
    assert window.composer.attachments()[0].preparing  # prepared again, from its file
    wait_prepared(qtbot, window.composer, 1)
    assert names(window.composer) == ["lake.png"]
