"""The composer inside the real main window: drops land, Ctrl+O works from anywhere in the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .helpers import drop, wait_prepared


def test_drop_into_the_window_composer_and_attach_from_the_conversation_list(qtbot, window, media, monkeypatch):
    composer = window.composer
    assert drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    assert composer.strip.isVisible() and "attachments 302" in composer.meter.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a: ([str(media / "tone.wav")], "")))
    window.conversations.search.setFocus()
    qtbot.keyClick(window.conversations.search, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    wait_prepared(qtbot, composer, 2)
    assert [d.kind for d in composer.attachments()] == ["image", "audio"]
    composer.shutdown()


def test_an_attachment_that_cannot_be_saved_keeps_the_message_and_makes_no_conversation(
        qtbot, window, store, media, tmp_path):
    photo = tmp_path / "vanishing.png"
    photo.write_bytes((media / "photo.png").read_bytes())
    composer = window.composer
    assert drop(composer, photo)
    wait_prepared(qtbot, composer, 1)
    photo.unlink()  # gone between preparing and sending (an unplugged drive, a cleaned temp folder)
    composer.edit.setPlainText("describe this please")
    composer.send_button.click()
    assert "could not be saved" in window.notice.text()
    assert composer.text() == "describe this please"
    assert store.conversations() == []  # no empty conversation left behind
    assert len(composer.attachments()) == 1
    composer.shutdown()


def test_a_clip_with_sound_is_sent_with_its_audio_track(qtbot, window, store, media):
    from mimo_desktop.engine.types import GenerationRequest, Turn
    from mimo_desktop.engine.vllm_request import build_messages, build_multi_modal_data

    composer = window.composer
    assert drop(composer, media / "clip.mp4")
    wait_prepared(qtbot, composer, 1)
    [draft] = composer.attachments()
    item = draft.prepared
    assert item.audio_track is not None
    request = GenerationRequest((Turn("user", "what happens?", (item,)),))
    assert set(build_multi_modal_data(request)) == {"video", "audio"}
    assert build_messages(request)[0]["content"].startswith(item.placeholder + item.audio_track.placeholder)
    composer.edit.setPlainText("what happens?")
    composer.send_button.click()
    [conv] = store.conversations()
    [stored] = store.thread(conv.id)[0].attachments
    assert stored.tokens == item.total_tokens  # the sound's tokens are part of the clip's cost
    composer.shutdown()


def test_a_follow_up_question_reuses_the_prepared_clip_and_the_copy_lands_in_the_background(
        qtbot, engine_window, engine_log, store, media, monkeypatch):
    """The clip is decoded once, when attached: the follow-up's request carries the same prepared frames."""
    import sys

    from .helpers import wait_prepared as wait

    window = engine_window
    composer = window.composer
    assert drop(composer, media / "clip.mp4")
    wait(qtbot, composer, 1)
    composer.edit.setPlainText("tokens=2 what happens?")
    composer.send_button.click()
    assert composer.text() == "" and composer.attachments() == []  # cleared once the question was saved
    qtbot.waitUntil(lambda: len(engine_log.requests) == 1, timeout=10000)
    qtbot.waitUntil(lambda: not window.controller.streamer.busy, timeout=10000)
    [conv] = store.conversations()
    [attachment] = store.thread(conv.id)[0].attachments
    qtbot.waitUntil(lambda: store.blobs.has(attachment.sha256), timeout=10000)  # copied off the GUI thread
    assert not list(store.blobs.root.glob(".incoming-*")) and not list(store.blobs.root.glob(".pending/*"))

    def decoded_again(*args, **kwargs):
        raise AssertionError("the earlier clip was decoded again")

    monkeypatch.setattr(sys.modules["mimo_desktop.media.preparation"], "prepare", decoded_again)
    composer.edit.setPlainText("tokens=2 and then?")
    composer.send_button.click()
    qtbot.waitUntil(lambda: len(engine_log.requests) == 2, timeout=10000)
    first, follow_up = engine_log.requests
    earlier = follow_up.turns[0].attachments[0]
    assert earlier.vllm_data[0] is first.turns[0].attachments[0].vllm_data[0]  # the same prepared frames
    assert window.notice.text() == ""
    qtbot.waitUntil(lambda: not window.controller.streamer.busy, timeout=10000)


def test_a_send_the_database_refuses_leaves_no_copy_for_the_next_start(qtbot, window, store, media, tmp_path):
    """Another program holds the database: the question is not saved, so its file must not be copied in later."""
    import sqlite3

    from mimo_desktop.core.conversation import Role

    conv = store.create_conversation("earlier")
    store.add_message(conv.id, Role.USER, "hello")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    photo = tmp_path / "holiday.png"
    photo.write_bytes((media / "photo.png").read_bytes())
    composer = window.composer
    assert drop(composer, photo)
    wait_prepared(qtbot, composer, 1)
    composer.edit.setPlainText("where was this?")
    other = sqlite3.connect(store.db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    store._conn.execute("PRAGMA busy_timeout = 50")
    try:
        composer.send_button.click()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "locked" in window.notice.text()
    assert composer.text() == "where was this?" and len(composer.attachments()) == 1  # nothing lost
    assert [m.text for m in store.thread(conv.id)] == ["hello"]
    assert store.blobs.recover() == []  # no copy of an unsent file at the next start
    assert not list((store.blobs.root / ".pending").glob("*.json"))
    composer.send_button.click()  # sent once the database is free: copied as usual
    [attachment] = store.thread(conv.id)[-1].attachments
    qtbot.waitUntil(lambda: store.blobs.has(attachment.sha256), timeout=10_000)
    composer.shutdown()


def test_big_frames_spill_beside_the_windows_own_attachments(window, store):
    """A 10-minute clip's frames go to a spill file in this history's data folder (not the default home's,
    not /tmp, which may be memory)."""
    from mimo_desktop.media import spill

    frames = spill.empty((2, spill.SPILL_ABOVE // 2 + 1))
    assert frames is not None and spill.of(frames) is not None
    assert spill.folder() == store.blobs.root / ".spill"
    assert (store.blobs.root / ".spill").is_dir()
    assert list((store.blobs.root / ".spill").iterdir()) == []  # unlinked at once: nothing left after a crash
