"""Recording a clip: one recorder for real devices and for pushed frames (the source is injected).

``ClipRecorder`` owns a ``QMediaCaptureSession`` and a ``QMediaRecorder``; a
source plugs its inputs into the session. ``DeviceSource`` plugs a camera and a
microphone; a source built on ``QVideoFrameInput``/``QAudioBufferInput`` plugs
frames and samples pushed by code (how the tests drive the real recorder path on
machines without devices). The recorder stops itself at the maximum length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtMultimedia import (
    QAudioDevice,
    QAudioInput,
    QCamera,
    QCameraDevice,
    QMediaCaptureSession,
    QMediaFormat,
    QMediaRecorder,
)

DEFAULT_MAX_SECONDS = 60


class CaptureSource(Protocol):
    def attach(self, session: QMediaCaptureSession) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class DeviceSource(QObject):
    """A camera and, optionally, a microphone."""

    def __init__(self, camera: QCameraDevice, microphone: QAudioDevice | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.camera = QCamera(camera, self)
        self.microphone = QAudioInput(microphone, self) if microphone is not None and not microphone.isNull() else None

    def attach(self, session: QMediaCaptureSession) -> None:
        session.setCamera(self.camera)
        if self.microphone is not None:
            session.setAudioInput(self.microphone)

    def start(self) -> None:
        self.camera.start()

    def stop(self) -> None:
        self.camera.stop()


def clip_format() -> QMediaFormat:
    """MP4 with H.264 where Qt's FFmpeg can encode it, else MPEG-4 Part 2 (Debian's LGPL FFmpeg); AAC sound."""
    fmt = QMediaFormat(QMediaFormat.FileFormat.MPEG4)
    encodable = fmt.supportedVideoCodecs(QMediaFormat.ConversionMode.Encode)
    codec = QMediaFormat.VideoCodec.H264 if QMediaFormat.VideoCodec.H264 in encodable else QMediaFormat.VideoCodec.MPEG4
    fmt.setVideoCodec(codec)
    fmt.setAudioCodec(QMediaFormat.AudioCodec.AAC)
    return fmt


class ClipRecorder(QObject):
    elapsedChanged = Signal(int)  # milliseconds recorded
    finished = Signal(str)  # path of the written file
    failed = Signal(str)

    def __init__(self, source: CaptureSource, max_seconds: float = DEFAULT_MAX_SECONDS, parent: QObject | None = None):
        super().__init__(parent)
        self.source = source
        self.max_ms = int(max_seconds * 1000)
        self.session = QMediaCaptureSession(self)
        self.recorder = QMediaRecorder(self)
        self.recorder.setMediaFormat(clip_format())
        self.recorder.setQuality(QMediaRecorder.Quality.HighQuality)
        self.session.setRecorder(self.recorder)
        source.attach(self.session)
        self._path: Path | None = None
        self._cancelled = False
        self._error = ""
        self.recorder.durationChanged.connect(self._on_duration)
        self.recorder.recorderStateChanged.connect(self._on_state)
        self.recorder.errorOccurred.connect(self._on_error)

    def start_preview(self) -> None:
        self.source.start()

    def record(self, path: Path) -> None:
        self._path, self._cancelled, self._error = Path(path), False, ""
        self.recorder.setOutputLocation(QUrl.fromLocalFile(str(path)))
        self.recorder.record()

    def is_recording(self) -> bool:
        return self.recorder.recorderState() == QMediaRecorder.RecorderState.RecordingState

    def stop(self) -> None:
        if self.recorder.recorderState() != QMediaRecorder.RecorderState.StoppedState:
            self.recorder.stop()

    def cancel(self) -> None:
        """Stop and throw the file away."""
        self._cancelled = True
        self.stop()
        self.source.stop()
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    @Slot("qint64")
    def _on_duration(self, ms: int) -> None:
        self.elapsedChanged.emit(int(ms))
        if ms >= self.max_ms and self.is_recording():
            self.source.stop()  # no more frames: the encoder's queue is overshoot enough
            self.stop()

    @Slot(QMediaRecorder.Error, str)
    def _on_error(self, _error: QMediaRecorder.Error, message: str) -> None:
        self._error = message or "the recorder failed"
        if self.recorder.recorderState() == QMediaRecorder.RecorderState.StoppedState:
            self._on_state(QMediaRecorder.RecorderState.StoppedState)  # it failed before it started

    @Slot(QMediaRecorder.RecorderState)
    def _on_state(self, state: QMediaRecorder.RecorderState) -> None:
        if state != QMediaRecorder.RecorderState.StoppedState or self._path is None:
            return
        path, self._path = self._path, None
        if self._cancelled:
            path.unlink(missing_ok=True)
        elif self._error:
            self.failed.emit(f"Recording failed: {self._error}")
        elif not path.is_file() or path.stat().st_size == 0:
            self.failed.emit("Recording failed: nothing was written (did the camera deliver any frames?).")
        else:
            self.finished.emit(str(path))
