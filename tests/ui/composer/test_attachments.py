"""Attachments in the composer: drop, paste, attach, preview, cost, remove, broken files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from mimo_desktop.media.preparation import prepare

from .helpers import chip, drop, file_mime, wait_prepared


def test_dropping_a_picture_makes_a_chip_with_thumbnail_and_estimated_cost(qtbot, composer, media):
    assert not composer.strip.isVisible()
    assert drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    [draft] = composer.attachments()
    assert draft.kind == "image" and draft.error is None and draft.prepared.tokens == 302
    shown = chip(composer)
    assert composer.strip.isVisible()
    # 640×480 at MiMo-V2.5's defaults: 480/16 × 640/16 patches, merged 2×2, + start/end = 302
    assert shown.detail.text() == "≈ 302 tokens"
    thumb = shown.preview.pixmap().toImage()
    assert thumb.width() == shown.preview.width()
    assert QColor(thumb.pixel(thumb.width() // 2, thumb.height() // 2)).getRgb()[:3] == (200, 30, 30)
    assert composer.send_button.isEnabled()


def test_dropping_on_the_text_field_attaches_too_and_leaves_the_text_alone(qtbot, composer, media):
    composer.edit.setPlainText("what is this?")
    composer.edit.insertFromMimeData(file_mime(media / "photo.png"))  # what QPlainTextEdit's drop calls
    wait_prepared(qtbot, composer, 1)
    assert composer.text() == "what is this?"


def test_video_chip_shows_poster_frame_duration_and_cost(qtbot, composer, media):
    drop(composer, media / "clip.mp4")
    wait_prepared(qtbot, composer, 1)
    [draft] = composer.attachments()
    expected = prepare(media / "clip.mp4")
    assert draft.kind == "video"
    assert expected.audio_track is not None  # the clip has a sound track, counted in the cost
    assert chip(composer).detail.text() == f"0:02 · with sound · ≈ {expected.total_tokens:,} tokens"
    assert not chip(composer).preview.pixmap().isNull()
    assert "frames sampled" in chip(composer).toolTip()


def test_audio_chip_shows_waveform_and_duration(qtbot, composer, media):
    drop(composer, media / "tone.wav")
    wait_prepared(qtbot, composer, 1)
    [draft] = composer.attachments()
    assert draft.kind == "audio"
    assert draft.prepared.duration_s == 1.5
    assert chip(composer).detail.text() == f"0:02 · ≈ {draft.prepared.tokens:,} tokens"
    wave = chip(composer).preview.pixmap().toImage()
    # the tone fades in: the waveform's bars are taller on the right than on the left
    def bar_height(x):
        return sum(1 for y in range(wave.height()) if wave.pixelColor(x, y).alpha() > 0)

    left = max(bar_height(x) for x in range(0, 10))
    right = max(bar_height(x) for x in range(wave.width() - 10, wave.width()))
    assert right > 2 * left > 0


def test_pasting_a_picture_attaches_it_as_a_png(qtbot, composer):
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 120, 240))
    QApplication.clipboard().setImage(image)
    composer.edit.setFocus()
    composer.edit.paste()
    wait_prepared(qtbot, composer, 1)
    [draft] = composer.attachments()
    assert draft.path.suffix == ".png" and draft.kind == "image"
    with Image.open(draft.path) as saved:
        assert saved.size == (300, 200)
        assert saved.convert("RGB").getpixel((150, 100)) == (10, 120, 240)
    scratch = draft.path.parent
    composer.shutdown()
    assert not scratch.exists()  # pasted files are scratch: gone at shutdown


def test_pasting_file_urls_attaches_the_files_and_text_stays_text(qtbot, composer, media):
    QApplication.clipboard().setMimeData(file_mime(media / "photo.png", media / "tone.wav"))
    composer.edit.paste()
    wait_prepared(qtbot, composer, 2)
    assert [d.kind for d in composer.attachments()] == ["image", "audio"]
    text = QMimeData()
    text.setText("just words")
    QApplication.clipboard().setMimeData(text)
    composer.edit.paste()
    assert composer.text() == "just words"
    assert len(composer.attachments()) == 2


def test_ctrl_o_opens_a_dialog_filtered_by_media(qtbot, composer, media, monkeypatch):
    asked = {}

    def fake_dialog(parent, caption, folder, filters):
        asked["filters"] = filters
        return [str(media / "photo.png")], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(fake_dialog))
    composer.edit.setFocus()
    qtbot.keyClick(composer.edit, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    wait_prepared(qtbot, composer, 1)
    assert "*.png" in asked["filters"] and "*.mp4" in asked["filters"] and "*.wav" in asked["filters"]


def test_remove_button_drops_the_attachment_and_its_cost(qtbot, composer, media):
    drop(composer, media / "photo.png", media / "tone.wav")
    wait_prepared(qtbot, composer, 2)
    assert "attachments 302" not in composer.meter.text()
    qtbot.mouseClick(chip(composer, 1).remove, Qt.MouseButton.LeftButton)
    assert [d.path.name for d in composer.attachments()] == ["photo.png"]
    assert "attachments 302" in composer.meter.text()
    composer.clear_attachments()
    assert composer.attachments() == [] and not composer.strip.isVisible()


def test_a_broken_file_shows_its_error_on_the_chip_and_blocks_send(qtbot, composer, media):
    sent, items = [], []
    composer.sendRequested.connect(lambda text, drafts: (sent.append(text), items.append(drafts)))
    drop(composer, media / "photo.png", media / "broken.jpg")
    wait_prepared(qtbot, composer, 2)
    broken = composer.attachments()[1]
    assert broken.prepared is None and broken.error
    with_error = chip(composer, 1)
    assert with_error.detail.text() == broken.error
    assert with_error.busy.isHidden()
    assert not composer.send_button.isEnabled()
    assert composer.reason.text().startswith(f"broken.jpg cannot be sent: {broken.error}")
    composer.edit.setPlainText("look")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == []
    qtbot.mouseClick(with_error.remove, Qt.MouseButton.LeftButton)
    assert composer.send_button.isEnabled() and composer.reason.isHidden()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["look"]
    assert [[(d.path.name, d.prepared.kind) for d in drafts] for drafts in items] == [[("photo.png", "image")]]
    # nothing is cleared until the controller has saved the question (``clear_sent``)
    assert composer.text() == "look" and [d.path.name for d in composer.attachments()] == ["photo.png"]
    composer.clear_sent()
    assert composer.text() == "" and composer.attachments() == []


def test_an_empty_file_says_so(qtbot, composer, media):
    drop(composer, media / "empty.wav")
    wait_prepared(qtbot, composer, 1)
    assert "empty" in chip(composer).detail.text()


def test_send_waits_while_an_attachment_is_being_prepared(qtbot, composer, media):
    sent = []
    composer.sendRequested.connect(lambda text, drafts: sent.append(text))
    composer.edit.setPlainText("what happens in this clip?")
    drop(composer, media / "clip.mp4")
    # the result can only arrive through the event loop, which has not run yet
    assert composer.attachments()[0].preparing
    assert chip(composer).busy.isVisible() and chip(composer).detail.text() == "Preparing…"
    assert not composer.send_button.isEnabled()
    assert composer.reason.text() == "Wait: preparing clip.mp4…"
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == [] and composer.text() == "what happens in this clip?"
    wait_prepared(qtbot, composer, 1)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["what happens in this clip?"]
    assert composer.attachments()[0].prepared.kind == "video"


def test_removing_a_file_while_it_is_prepared_drops_its_late_result(qtbot, composer, media):
    drop(composer, media / "clip.mp4")
    qtbot.mouseClick(chip(composer).remove, Qt.MouseButton.LeftButton)
    drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    qtbot.waitUntil(lambda: not composer._worker.is_busy(), timeout=30_000)
    assert [d.path.name for d in composer.attachments()] == ["photo.png"]
    assert len(composer.strip.chips) == 1


def test_a_missing_file_reports_it(qtbot, composer, tmp_path):
    composer.add_files([Path(tmp_path / "gone.png")])
    wait_prepared(qtbot, composer, 1)
    assert "does not exist" in chip(composer).detail.text()


def test_shutdown_while_preparing_cancels_cleanly(qtbot, composer, media):
    drop(composer, media / "clip.mp4", media / "tone.wav", media / "photo.png")
    assert composer._worker.is_busy()
    composer.shutdown()  # waits for the running job, drops the queued ones; no_thread_leaks checks the rest
    assert not composer._worker.is_busy()
    qtbot.wait(50)  # a late result, if any were queued, must be dropped without touching removed chips
    assert all(d.preparing for d in composer.attachments())


def test_the_capture_menu_offers_every_capture(qtbot, composer):
    menu = composer.capture_button.menu()
    assert [a.data() for a in menu.actions()] == ["photo", "clip", "audio", "screen", "region"]
    menu.actions()[3].trigger()  # the whole screen, straight into an attachment
    wait_prepared(qtbot, composer, 1)
    assert composer.attachments()[0].kind == "image"


def test_the_header_cost_shows_while_the_video_is_still_being_decoded(qtbot, composer, media):
    import threading

    from mimo_desktop.media.costs import estimate

    gate = threading.Event()
    real = composer._worker._prepare

    def held_after_the_header(path, config, on_estimate, task, confirmed):
        def announce_then_wait(cost):
            on_estimate(cost)
            gate.wait(20)  # decoding "takes long": the test lets it go on

        return real(path, config, announce_then_wait, task, confirmed)

    composer._worker._prepare = held_after_the_header
    drop(composer, media / "clip.mp4")
    header = estimate(media / "clip.mp4")
    text = f"0:02 · ≈ {header.total_tokens:,} tokens · preparing…"
    try:
        qtbot.waitUntil(lambda: chip(composer).detail.text() == text, timeout=20_000)
        assert composer.attachments()[0].preparing and chip(composer).busy.isVisible()
        assert f"attachments {header.total_tokens:,}" in composer.meter.text()
        assert composer.reason.text() == "Wait: preparing clip.mp4…"
    finally:
        gate.set()
    wait_prepared(qtbot, composer, 1)
    assert composer.attachments()[0].prepared.total_tokens == header.total_tokens  # the header was right


def test_a_long_file_name_is_shortened_in_the_middle_keeping_its_extension(qtbot, composer, media, tmp_path):
    long_name = tmp_path / "holiday-by-the-lake-at-dusk-with-the-whole-family.wav"
    long_name.write_bytes((media / "tone.wav").read_bytes())
    drop(composer, long_name)
    wait_prepared(qtbot, composer, 1)
    shown = chip(composer).name.text()
    assert "…" in shown and shown.startswith("holiday") and shown.endswith(".wav")
    assert chip(composer).name.toolTip() == str(long_name)


def test_removing_chips_gives_memory_back_once_off_the_gui_thread_and_not_after_send(
        qtbot, composer, media, monkeypatch):
    """gc + malloc_trim take ~0.3 s: never on the GUI thread, once per batch, and not for sent items."""
    import threading

    from mimo_desktop.media import memory

    calls = []
    real = memory.give_back_memory

    def spy():
        calls.append(threading.current_thread() is threading.main_thread())
        real()

    monkeypatch.setattr(memory, "give_back_memory", spy)
    drop(composer, media / "photo.png", media / "tone.wav", media / "clip.mp4")
    wait_prepared(qtbot, composer, 3)
    composer.clear_attachments()  # a conversation switch: three chips, their prepared data dropped
    qtbot.waitUntil(lambda: calls == [False], timeout=5000)
    drop(composer, media / "photo.png", media / "tone.wav")
    wait_prepared(qtbot, composer, 2)
    composer.clear_sent()  # sent: the items live on in the cache, nothing to give back
    assert composer.attachments() == []
    qtbot.mouseClick(chip_after_drop(qtbot, composer, media), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=5000)
    assert calls == [False, False]


def chip_after_drop(qtbot, composer, media):
    drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    return chip(composer, 0).remove
