"""Microphone recording with pushed PCM: level meter, pause, stop → a WAV the media layer reads; cancel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mimo_desktop.media.preparation import prepare
from mimo_desktop.ui.composer.capture.audio import AudioDialog, PcmRecorder, level_of, to_int16

from .synthetic import SyntheticPcm


def test_level_is_a_decibel_scale():
    import numpy as np

    assert level_of(np.zeros(100, np.int16)) == 0.0
    full = (np.sin(np.linspace(0, 200, 4800)) * 32767).astype(np.int16)
    assert level_of(full) == pytest.approx(1 - 3.01 / 60, abs=0.01)  # a full-scale sine is −3 dBFS
    assert level_of(full // 10) == pytest.approx(1 - 23.01 / 60, abs=0.01)
    floats = np.array([0.5, -0.5], np.float32).tobytes()
    assert list(to_int16(floats, "float32")) == [16383, -16383]


def test_record_pause_resume_stop_attaches_only_what_was_not_paused(qtbot, scratch, composer):
    source = SyntheticPcm()
    dialog = AudioDialog(scratch, composer, source=source)
    qtbot.addWidget(dialog)
    dialog.captured.connect(composer._on_captured)
    dialog.show()
    assert source.running and dialog.record_button.isEnabled() and not dialog.stop_button.isEnabled()
    source.push(0.3, amplitude=0.5)  # before recording: the meter moves, nothing is kept
    assert dialog.level.value() > 80
    qtbot.mouseClick(dialog.record_button, Qt.MouseButton.LeftButton)
    source.push(1.0, amplitude=0.5)
    assert dialog.elapsed.text() == "0:01"
    qtbot.mouseClick(dialog.pause_button, Qt.MouseButton.LeftButton)
    assert dialog.pause_button.text() == "Resume"
    source.push(2.0, amplitude=0.05)
    assert 40 < dialog.level.value() < 70  # still listening while paused (−29 dBFS)
    qtbot.mouseClick(dialog.pause_button, Qt.MouseButton.LeftButton)
    source.push(0.5, amplitude=0.5)
    with qtbot.waitSignal(dialog.captured) as got:
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and not source.running
    item = prepare(got.args[0])
    assert item.kind == "audio" and item.duration_s == pytest.approx(1.5, abs=0.01)
    qtbot.waitUntil(lambda: composer.attachments() and not composer.attachments()[0].preparing, timeout=30_000)
    assert composer.attachments()[0].prepared.duration_s == pytest.approx(1.5, abs=0.01)


def test_cancel_throws_the_recording_away(qtbot, scratch, tmp_path):
    source = SyntheticPcm()
    dialog = AudioDialog(scratch, source=source)
    qtbot.addWidget(dialog)
    captured = []
    dialog.captured.connect(captured.append)
    dialog.show()
    dialog.record()
    source.push(0.5, amplitude=0.3)
    assert list(tmp_path.glob("recording-*.wav"))
    dialog.reject()
    assert captured == [] and not list(tmp_path.glob("recording-*.wav")) and not source.running


def test_stop_before_any_sound_says_nothing_was_recorded(qtbot, scratch):
    dialog = AudioDialog(scratch, source=SyntheticPcm())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.record()
    dialog.stop()
    assert dialog.message.text() == "Nothing was recorded yet." and dialog.isVisible()


def test_recording_stops_at_the_maximum_length(qtbot, tmp_path):
    source = SyntheticPcm()
    recorder = PcmRecorder(source, max_seconds=0.25)
    recorder.record(tmp_path / "r.wav")
    with qtbot.waitSignal(recorder.finished) as got:
        source.push(1.0, amplitude=0.3)
    assert prepare(got.args[0]).duration_s == pytest.approx(0.25, abs=0.001)
