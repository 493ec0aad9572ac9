"""This machine has no camera and no microphone: every dialog says so and nothing crashes."""

from __future__ import annotations

import pytest
from PySide6.QtMultimedia import QMediaDevices

from mimo_desktop.ui.composer.capture import open_capture
from mimo_desktop.ui.composer.capture.audio import AudioDialog
from mimo_desktop.ui.composer.capture.clip import ClipDialog
from mimo_desktop.ui.composer.capture.devices import NO_CAMERA, NO_MICROPHONE
from mimo_desktop.ui.composer.capture.photo import PhotoDialog

pytestmark = pytest.mark.skipif(
    bool(QMediaDevices.videoInputs() or QMediaDevices.audioInputs()), reason="this machine has capture devices"
)


def test_photo_dialog_says_there_is_no_camera(qtbot, scratch):
    dialog = PhotoDialog(scratch)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.message.isVisible() and dialog.message.text() == NO_CAMERA
    assert not dialog.capture_button.isEnabled()
    dialog.take()  # even when called anyway
    assert dialog.photo is None


def test_clip_dialog_says_there_is_no_camera(qtbot, scratch):
    dialog = ClipDialog(scratch)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.message.text() == NO_CAMERA
    assert not dialog.record_button.isEnabled() and dialog.recorder is None
    dialog.record()
    assert dialog.recorder is None


def test_audio_dialog_says_there_is_no_microphone(qtbot, scratch):
    dialog = AudioDialog(scratch)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.message.text() == NO_MICROPHONE
    assert not dialog.record_button.isEnabled()
    assert not dialog.pause_button.isEnabled() and not dialog.stop_button.isEnabled()


@pytest.mark.parametrize("kind", ["photo", "clip", "audio"])
def test_the_composer_menu_opens_each_dialog_with_its_message(qtbot, composer, kind):
    dialog = composer.open_capture(kind)
    assert dialog.isVisible()
    assert dialog.message.text() in (NO_CAMERA, NO_MICROPHONE)
    dialog.reject()
    assert composer.attachments() == []


def test_unknown_capture_kind_is_a_programming_error(qtbot, composer, scratch):
    with pytest.raises(ValueError, match="unknown capture kind"):
        open_capture("hologram", composer, scratch)


def test_a_device_list_change_keeps_the_message_and_does_not_crash(qtbot, scratch):
    # QMediaDevices announces plugging; here the lists are still empty afterwards
    photo, clip, audio = PhotoDialog(scratch), ClipDialog(scratch), AudioDialog(scratch)
    for dialog in (photo, clip, audio):
        qtbot.addWidget(dialog)
    photo.watch.videoInputsChanged.emit()
    clip.watch.audioInputsChanged.emit()
    audio.watch.audioInputsChanged.emit()
    assert photo.message.text() == NO_CAMERA and not photo.capture_button.isEnabled()
    assert clip.message.text() == NO_CAMERA and not clip.record_button.isEnabled()
    assert audio.message.text() == NO_MICROPHONE and not audio.record_button.isEnabled()
