"""A video clip with sound: live preview, record with elapsed time and a maximum length, stop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCameraPermission, Slot
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from .devices import ASKING, NO_MICROPHONE, camera_combo, camera_problem, chosen_camera, chosen_microphone
from .devices import microphone_combo, microphone_problem, refill_cameras, refill_microphones
from .dialog import CaptureDialog, ScratchPath, format_clock
from .recorder import DEFAULT_MAX_SECONDS, CaptureSource, ClipRecorder, DeviceSource

MAX_SECONDS_LIMIT = 600


class ClipDialog(CaptureDialog):
    """With ``source`` given (tests, or another producer of frames), no devices are looked up."""

    def __init__(self, scratch_path: ScratchPath, parent: QWidget | None = None, source: CaptureSource | None = None):
        super().__init__("Record a video clip", scratch_path, parent)
        self.resize(720, 600)
        self.cameras = camera_combo()
        self.microphones = microphone_combo()
        self.max_seconds = QSpinBox()
        self.max_seconds.setObjectName("maxSeconds")
        self.max_seconds.setAccessibleName("Maximum length in seconds")
        self.max_seconds.setRange(1, MAX_SECONDS_LIMIT)
        self.max_seconds.setValue(DEFAULT_MAX_SECONDS)
        self.max_seconds.setSuffix(" s")
        self.preview = QVideoWidget()
        self.preview.setObjectName("cameraPreview")
        self.elapsed = QLabel()
        self.elapsed.setObjectName("elapsed")
        self.record_button = QPushButton("Record")
        self.record_button.setObjectName("recordButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setEnabled(False)
        cancel = QPushButton("Cancel")
        form = QFormLayout()
        form.addRow("Camera", self.cameras)
        form.addRow("Microphone", self.microphones)
        form.addRow("Maximum length", self.max_seconds)
        buttons = QHBoxLayout()
        for widget in (self.elapsed, self.record_button, self.stop_button, cancel):
            buttons.addWidget(widget)
        self.body.addLayout(form)
        self.body.addWidget(self.preview, 1)
        self.body.addLayout(buttons)
        self.recorder: ClipRecorder | None = None
        self.record_button.clicked.connect(self.record)
        self.stop_button.clicked.connect(self.stop)
        cancel.clicked.connect(self.reject)
        self.max_seconds.valueChanged.connect(self._on_max_changed)
        self._elapsed_ms = 0
        if source is not None:
            self._use_source(source)
        else:
            self.cameras.currentIndexChanged.connect(self._start_devices)
            self.microphones.currentIndexChanged.connect(self._start_devices)
            self.watch = QMediaDevices(self)
            self.watch.videoInputsChanged.connect(self._on_devices_changed)
            self.watch.audioInputsChanged.connect(self._on_devices_changed)
            self._start_devices()
        self._show_elapsed()

    @Slot()
    def _on_devices_changed(self) -> None:
        if self.recorder is not None and self.recorder.is_recording():
            return  # a recording keeps its devices; a lost one ends it with the recorder's error
        refill_cameras(self.cameras)
        refill_microphones(self.microphones)
        self._start_devices()

    @Slot()
    def _start_devices(self) -> None:
        problem = camera_problem()
        if problem == ASKING:
            return self.ask_permission(QCameraPermission(), self._start_devices)
        if problem:
            self.show_message(problem)
            for widget in (self.record_button, self.cameras, self.microphones, self.max_seconds):
                widget.setEnabled(False)
            return
        for widget in (self.record_button, self.cameras, self.max_seconds):
            widget.setEnabled(True)
        mic_problem = microphone_problem()
        self.show_message(f"{mic_problem} The clip will be silent." if mic_problem else "", problem=False)
        self.microphones.setEnabled(mic_problem != NO_MICROPHONE)
        microphone = None if mic_problem else chosen_microphone(self.microphones)
        self._use_source(DeviceSource(chosen_camera(self.cameras), microphone, self))

    def _use_source(self, source: CaptureSource) -> None:
        if self.recorder is not None:
            self.recorder.cancel()
            self.recorder.deleteLater()
        self.recorder = ClipRecorder(source, self.max_seconds.value(), self)
        self.recorder.session.setVideoOutput(self.preview)
        self.recorder.elapsedChanged.connect(self._on_elapsed)
        self.recorder.finished.connect(self._on_finished)
        self.recorder.failed.connect(self._on_failed)
        self.recorder.start_preview()

    @Slot()
    def record(self) -> None:
        if self.recorder is None:
            return
        self.recorder.max_ms = self.max_seconds.value() * 1000
        self.recorder.record(self.scratch_path("clip", "mp4"))
        self.record_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        for widget in (self.cameras, self.microphones, self.max_seconds):
            widget.setEnabled(False)

    @Slot()
    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
        self.stop_button.setEnabled(False)

    @Slot(int)
    def _on_elapsed(self, ms: int) -> None:
        self._elapsed_ms = ms
        self._show_elapsed()

    @Slot(int)
    def _on_max_changed(self, _seconds: int) -> None:
        self._show_elapsed()

    def _show_elapsed(self) -> None:
        limit = self.max_seconds.value() * 1000
        self.elapsed.setText(f"{format_clock(self._elapsed_ms)} / {format_clock(limit)}")

    @Slot(str)
    def _on_finished(self, path: str) -> None:
        self.deliver(Path(path))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.show_message(message)
        self.record_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def done(self, result: int) -> None:
        if self.recorder is not None:
            if result != self.DialogCode.Accepted:
                self.recorder.cancel()  # closing the dialog throws the unfinished clip away
            self.recorder.source.stop()
        super().done(result)
