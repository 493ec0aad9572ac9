"""The clip dialog driven by pushed frames, and the screen: both end as attachments in the composer."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication

from mimo_desktop.ui.composer.capture.clip import ClipDialog
from mimo_desktop.ui.composer.capture.screen import NO_SCREEN, RegionDialog

from .synthetic import SyntheticSource


def wait_attached(qtbot, composer, count=1):
    qtbot.waitUntil(
        lambda: len(composer.attachments()) == count and not any(d.preparing for d in composer.attachments()),
        timeout=30_000,
    )


def test_clip_dialog_records_pushed_frames_and_the_composer_attaches_the_video(qtbot, scratch, composer):
    source = SyntheticSource(frames=45, fps=15, audio_seconds=3.0)
    dialog = ClipDialog(scratch, composer, source=source)
    qtbot.addWidget(dialog)
    dialog.captured.connect(composer._on_captured)
    dialog.show()
    assert dialog.elapsed.text() == "0:00 / 1:00" and dialog.record_button.isEnabled()
    source.exhausted.connect(dialog.stop)
    with qtbot.waitSignal(dialog.captured, timeout=20_000) as got:
        qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
        assert not dialog.record_button.isEnabled() and not dialog.max_seconds.isEnabled()
    assert dialog.elapsed.text().startswith("0:0") and dialog.elapsed.text() != "0:00 / 1:00"
    assert got.args[0].endswith(".mp4") and not dialog.isVisible()
    wait_attached(qtbot, composer)
    [draft] = composer.attachments()
    assert draft.error is None, draft.error
    item = draft.prepared
    assert item.kind == "video"
    assert item.duration_s == pytest.approx(3.0, abs=0.15)
    assert item.audio_track is not None and item.audio_track.duration_s == pytest.approx(3.0, abs=0.15)
    assert item.timestamps[0] == 0.0 and len(item.timestamps) >= 3
    assert composer.send_button.isEnabled()


def test_cancelling_a_clip_leaves_no_file(qtbot, scratch, tmp_path):
    source = SyntheticSource(frames=300, fps=30, audio_seconds=0)
    dialog = ClipDialog(scratch, source=source)
    qtbot.addWidget(dialog)
    captured = []
    dialog.captured.connect(captured.append)
    dialog.show()
    dialog.record()
    qtbot.waitUntil(lambda: source.sent_frames > 20, timeout=20_000)
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.recorder.is_recording(), timeout=20_000)
    qtbot.wait(50)
    assert captured == [] and not list(tmp_path.glob("clip-*.mp4"))


def test_whole_screen_capture_becomes_an_image_attachment(qtbot, composer):
    screen = composer.screen().geometry()
    composer.open_capture("screen")
    wait_attached(qtbot, composer)
    [draft] = composer.attachments()
    assert draft.kind == "image" and draft.error is None
    with Image.open(draft.path) as shot:
        assert shot.size == (screen.width(), screen.height())


def test_a_region_dragged_on_the_screen_becomes_an_image_attachment(qtbot, composer):
    composer.setStyleSheet("background: rgb(0, 200, 0)")  # something recognisable on the screen
    composer.move(0, 0)
    composer.resize(400, 300)
    qtbot.wait(50)
    dialog = composer.open_capture("region")
    assert isinstance(dialog, RegionDialog) and dialog.isFullScreen()
    qtbot.mousePress(dialog, Qt.MouseButton.LeftButton, pos=QPoint(250, 200))
    qtbot.mouseMove(dialog, QPoint(150, 120))
    assert dialog.selection().size().width() == 101
    qtbot.mouseRelease(dialog, Qt.MouseButton.LeftButton, pos=QPoint(50, 40))  # dragged up-left
    wait_attached(qtbot, composer)
    [draft] = composer.attachments()
    assert draft.kind == "image" and "screen-region" in draft.path.name
    with Image.open(draft.path) as region:
        assert region.size == (201, 161)
        rgb = region.convert("RGB")
    still = dialog.still.toImage()
    assert rgb.getpixel((100, 80)) == QColor(still.pixel(150, 120)).getRgb()[:3]


def test_a_click_is_not_a_region_and_escape_cancels(qtbot, composer):
    dialog = composer.open_capture("region")
    qtbot.mouseClick(dialog, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    assert dialog.isVisible() and dialog.selection().isEmpty()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and composer.attachments() == []


def test_a_desktop_that_refuses_screen_capture_gets_a_clear_message(qtbot, composer, monkeypatch):
    from PySide6.QtGui import QPixmap, QScreen

    monkeypatch.setattr(QScreen, "grabWindow", lambda self, *a: QPixmap())  # what Wayland returns
    composer.open_capture("screen")
    assert composer.reason.text() == NO_SCREEN and composer.attachments() == []
    dialog = composer.open_capture("region")
    assert dialog.message.text() == NO_SCREEN
    assert QGuiApplication.primaryScreen() is not None
