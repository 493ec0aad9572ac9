"""A microphone recording: live level meter, pause, stop (attach) and cancel, written as WAV.

The microphone's PCM is read with ``QAudioSource`` so every chunk passes through
our hands: that gives the level meter, and pause simply keeps chunks out of the
file while the meter stays live. ``PcmRecorder`` does not care where chunks come
from (``MicrophoneSource`` or anything with the same ``chunk`` signal).
"""

from __future__ import annotations

import math
import wave
from pathlib import Path
from typing import Protocol

import numpy as np
from PySide6.QtCore import QMicrophonePermission, QObject, Signal, Slot
from PySide6.QtMultimedia import QAudioDevice, QAudioFormat, QAudioSource, QMediaDevices
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from .devices import ASKING, chosen_microphone, microphone_combo, microphone_problem, refill_microphones
from .dialog import CaptureDialog, ScratchPath, format_clock

MAX_SECONDS = 30 * 60
SILENCE_DB = -60.0  # the meter's floor

_DTYPES = {
    QAudioFormat.SampleFormat.UInt8: "uint8",
    QAudioFormat.SampleFormat.Int16: "int16",
    QAudioFormat.SampleFormat.Int32: "int32",
    QAudioFormat.SampleFormat.Float: "float32",
}


class PcmSource(Protocol):
    chunk: Signal  # bytes of interleaved samples
    rate: int
    channels: int
    dtype: str  # "uint8" | "int16" | "int32" | "float32"

    def start(self) -> None: ...
    def stop(self) -> None: ...


def to_int16(chunk: bytes, dtype: str) -> np.ndarray:
    samples = np.frombuffer(chunk, dtype=dtype)
    if dtype == "int16":
        return samples
    if dtype == "uint8":
        return ((samples.astype(np.int16) - 128) << 8).astype(np.int16)
    if dtype == "int32":
        return (samples >> 16).astype(np.int16)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)


def level_of(samples: np.ndarray) -> float:
    """0…1 on a decibel scale from SILENCE_DB to full scale (how loud it sounds, not raw amplitude)."""
    if samples.size == 0:
        return 0.0
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64) / 32768.0))))
    db = 20 * math.log10(rms) if rms > 0 else SILENCE_DB
    return min(1.0, max(0.0, (db - SILENCE_DB) / -SILENCE_DB))


class MicrophoneSource(QObject):
    chunk = Signal(bytes)

    def __init__(self, device: QAudioDevice, parent: QObject | None = None) -> None:
        super().__init__(parent)
        fmt = device.preferredFormat()
        if fmt.sampleFormat() not in _DTYPES:
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self.rate, self.channels, self.dtype = fmt.sampleRate(), fmt.channelCount(), _DTYPES[fmt.sampleFormat()]
        self.audio = QAudioSource(device, fmt, self)
        self._io = None

    def start(self) -> None:
        self._io = self.audio.start()  # pull mode: we read whatever arrived
        self._io.readyRead.connect(self._on_ready_read)

    def stop(self) -> None:
        self.audio.stop()
        self._io = None

    @Slot()
    def _on_ready_read(self) -> None:
        if self._io is not None:
            data = bytes(self._io.readAll().data())
            if data:
                self.chunk.emit(data)


class PcmRecorder(QObject):
    levelChanged = Signal(float)
    elapsedChanged = Signal(int)  # milliseconds kept in the file
    finished = Signal(str)

    def __init__(self, source: PcmSource, max_seconds: float = MAX_SECONDS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.max_frames = int(max_seconds * source.rate)
        self.paused = False
        self._file: wave.Wave_write | None = None
        self._path: Path | None = None
        self._frames = 0
        source.chunk.connect(self.feed)

    def is_recording(self) -> bool:
        return self._file is not None

    def record(self, path: Path) -> None:
        self._path, self._frames, self.paused = Path(path), 0, False
        self._file = wave.open(str(path), "wb")
        self._file.setnchannels(self.source.channels)
        self._file.setsampwidth(2)
        self._file.setframerate(self.source.rate)

    @Slot(bytes)
    def feed(self, chunk: bytes) -> None:
        samples = to_int16(chunk, self.source.dtype)
        self.levelChanged.emit(level_of(samples))
        if self._file is None or self.paused:
            return
        frames = samples[: (self.max_frames - self._frames) * self.source.channels]
        self._file.writeframes(frames.tobytes())
        self._frames += frames.size // self.source.channels
        self.elapsedChanged.emit(self._frames * 1000 // self.source.rate)
        if self._frames >= self.max_frames:
            self.stop()

    def stop(self) -> None:
        """Close the file and hand it over (nothing recorded: it is thrown away)."""
        if self._file is None:
            return
        self._file.close()
        self._file, path = None, self._path
        if self._frames == 0:
            path.unlink(missing_ok=True)
            return
        self.finished.emit(str(path))

    def cancel(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._path.unlink(missing_ok=True)


class AudioDialog(CaptureDialog):
    """With ``source`` given (tests, or another producer of PCM), no device is looked up."""

    def __init__(self, scratch_path: ScratchPath, parent: QWidget | None = None, source: PcmSource | None = None):
        super().__init__("Record audio", scratch_path, parent)
        self.microphones = microphone_combo()
        self.level = QProgressBar()
        self.level.setObjectName("levelMeter")
        self.level.setAccessibleName("Input level")
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.elapsed = QLabel("0:00")
        self.elapsed.setObjectName("elapsed")
        self.record_button = QPushButton("Record")
        self.record_button.setObjectName("recordButton")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.stop_button = QPushButton("Stop and attach")
        self.stop_button.setObjectName("stopButton")
        cancel = QPushButton("Cancel")
        form = QFormLayout()
        form.addRow("Microphone", self.microphones)
        form.addRow("Level", self.level)
        buttons = QHBoxLayout()
        for widget in (self.elapsed, self.record_button, self.pause_button, self.stop_button, cancel):
            buttons.addWidget(widget)
        self.body.addLayout(form)
        self.body.addLayout(buttons)
        self.recorder: PcmRecorder | None = None
        self._set_recording(False)
        self.record_button.clicked.connect(self.record)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        cancel.clicked.connect(self.reject)
        if source is not None:
            self._use_source(source)
        else:
            self.microphones.currentIndexChanged.connect(self._start_device)
            self.watch = QMediaDevices(self)
            self.watch.audioInputsChanged.connect(self._on_microphones_changed)
            self._start_device()

    @Slot()
    def _on_microphones_changed(self) -> None:
        if self.recorder is not None and self.recorder.is_recording():
            return
        refill_microphones(self.microphones)
        self._start_device()

    @Slot()
    def _start_device(self) -> None:
        problem = microphone_problem()
        if problem == ASKING:
            return self.ask_permission(QMicrophonePermission(), self._start_device)
        self.show_message(problem)
        if problem:
            if self.recorder is not None:
                self.recorder.source.stop()
                self.recorder = None
            self._set_recording(False)
            return
        self._use_source(MicrophoneSource(chosen_microphone(self.microphones), self))

    def _use_source(self, source: PcmSource) -> None:
        if self.recorder is not None:
            self.recorder.cancel()
            self.recorder.source.stop()
            self.recorder.deleteLater()
        self.recorder = PcmRecorder(source, parent=self)
        self.recorder.levelChanged.connect(self._on_level)
        self.recorder.elapsedChanged.connect(self._on_elapsed)
        self.recorder.finished.connect(self._on_finished)
        source.start()  # the meter is live before recording starts
        self._set_recording(False)

    def _set_recording(self, recording: bool) -> None:
        self.record_button.setEnabled(not recording and self.recorder is not None)
        self.pause_button.setEnabled(recording)
        self.stop_button.setEnabled(recording)
        self.microphones.setEnabled(not recording and self.microphones.count() > 0)

    @Slot()
    def record(self) -> None:
        if self.recorder is None:
            return
        self.recorder.record(self.scratch_path("recording", "wav"))
        self._set_recording(True)

    @Slot()
    def toggle_pause(self) -> None:
        if self.recorder is None or not self.recorder.is_recording():
            return
        self.recorder.paused = not self.recorder.paused
        self.pause_button.setText("Resume" if self.recorder.paused else "Pause")
        self.show_message("Paused: the meter still listens, nothing is recorded." if self.recorder.paused else "", problem=False)

    @Slot()
    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
            if not self.recorder.is_recording():
                self._set_recording(False)
                if not self.result():
                    self.show_message("Nothing was recorded yet.", problem=False)

    @Slot(float)
    def _on_level(self, level: float) -> None:
        self.level.setValue(round(level * 100))

    @Slot(int)
    def _on_elapsed(self, ms: int) -> None:
        self.elapsed.setText(format_clock(ms))

    @Slot(str)
    def _on_finished(self, path: str) -> None:
        self.deliver(Path(path))

    def done(self, result: int) -> None:
        if self.recorder is not None:
            self.recorder.cancel()
            self.recorder.source.stop()
        super().done(result)
