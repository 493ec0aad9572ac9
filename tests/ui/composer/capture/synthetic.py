"""A capture source without devices: frames and samples pushed through QVideoFrameInput / QAudioBufferInput.

It plugs into the real ``ClipRecorder`` exactly where a camera and a microphone
would. Frame ``i`` is filled with red level ``RED_STEP * i`` so a decoded frame
tells which pushed frame it came from; the sound is a 440 Hz tone.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QColor, QImage
from PySide6.QtMultimedia import (
    QAudioBuffer,
    QAudioBufferInput,
    QAudioFormat,
    QMediaCaptureSession,
    QVideoFrame,
    QVideoFrameInput,
)

RED_STEP = 4
TONE_HZ = 440.0


class SyntheticSource(QObject):
    exhausted = Signal()  # every frame and sample was accepted

    def __init__(self, frames: int = 60, fps: int = 30, audio_seconds: float = 2.0, size=(320, 240), rate=48000):
        super().__init__()
        self.frames, self.fps, self.size, self.rate = frames, fps, size, rate
        self.audio_chunks = int(audio_seconds * 10)  # 100 ms each
        self.video = QVideoFrameInput(self) if frames else None
        self.audio = QAudioBufferInput(self) if self.audio_chunks else None
        self.sent_frames = 0
        self.sent_chunks = 0
        self._format = QAudioFormat()
        self._format.setSampleRate(rate)
        self._format.setChannelCount(1)
        self._format.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if self.video is not None:
            self.video.readyToSendVideoFrame.connect(self._send_frame)
        if self.audio is not None:
            self.audio.readyToSendAudioBuffer.connect(self._send_chunk)

    def attach(self, session: QMediaCaptureSession) -> None:
        if self.video is not None:
            session.setVideoFrameInput(self.video)
        if self.audio is not None:
            session.setAudioBufferInput(self.audio)

    def start(self) -> None:
        pass  # the inputs ask for data when the recorder is ready

    def stop(self) -> None:
        self.frames = self.sent_frames
        self.audio_chunks = self.sent_chunks

    @Slot()
    def _send_frame(self) -> None:
        if self.sent_frames >= self.frames:
            return
        i = self.sent_frames
        image = QImage(*self.size, QImage.Format.Format_RGB32)
        image.fill(QColor(min(255, RED_STEP * i), 40, 200))
        frame = QVideoFrame(image)
        frame_us = 1_000_000 // self.fps
        frame.setStartTime(i * frame_us)
        frame.setEndTime((i + 1) * frame_us)
        if self.video.sendVideoFrame(frame):
            self.sent_frames += 1
        self._check_done()

    @Slot()
    def _send_chunk(self) -> None:
        if self.sent_chunks >= self.audio_chunks:
            return
        n = self.rate // 10
        t = (np.arange(n) + self.sent_chunks * n) / self.rate
        pcm = (np.sin(2 * np.pi * TONE_HZ * t) * 12000).astype(np.int16).tobytes()
        if self.audio.sendAudioBuffer(QAudioBuffer(pcm, self._format, self.sent_chunks * 100_000)):
            self.sent_chunks += 1
        self._check_done()

    def _check_done(self) -> None:
        if self.sent_frames >= self.frames and self.sent_chunks >= self.audio_chunks:
            self.exhausted.emit()


class SyntheticPcm(QObject):
    """Stands where MicrophoneSource stands: emits chunks of 16-bit mono PCM when told to."""

    chunk = Signal(bytes)

    def __init__(self, rate: int = 16000):
        super().__init__()
        self.rate, self.channels, self.dtype = rate, 1, "int16"
        self.running = False
        self._t = 0

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def push(self, seconds: float, amplitude: float, chunk_s: float = 0.1) -> None:
        for _ in range(round(seconds / chunk_s)):
            n = int(self.rate * chunk_s)
            t = (np.arange(n) + self._t) / self.rate
            self._t += n
            self.chunk.emit((np.sin(2 * np.pi * TONE_HZ * t) * amplitude * 32767).astype(np.int16).tobytes())
