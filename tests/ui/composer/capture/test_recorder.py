"""The real capture → recorder → file path, driven by pushed frames and samples, then decoded."""

from __future__ import annotations

import numpy as np
import pytest

from mimo_desktop.media.preparation import prepare
from mimo_desktop.ui.composer.capture.recorder import ClipRecorder

from .synthetic import RED_STEP, TONE_HZ, SyntheticSource


def record(qtbot, tmp_path, source, max_seconds=60):
    recorder = ClipRecorder(source, max_seconds=max_seconds)
    source.exhausted.connect(recorder.stop)
    path = tmp_path / "clip.mp4"
    with qtbot.waitSignal(recorder.finished, timeout=20_000) as done:
        recorder.record(path)
    assert done.args == [str(path)]
    return path


def decode(path):
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    video = VideoDecoder(str(path))
    audio = AudioDecoder(str(path)).get_all_samples()
    return video, audio


def test_pushed_frames_and_samples_make_a_decodable_clip(qtbot, tmp_path):
    path = record(qtbot, tmp_path, SyntheticSource(frames=60, fps=30, audio_seconds=2.0))
    video, audio = decode(path)
    assert video.metadata.num_frames == 60
    assert (video.metadata.width, video.metadata.height) == (320, 240)
    assert video.metadata.duration_seconds == pytest.approx(2.0, abs=0.1)
    # each decoded frame still carries the red level of the frame pushed at that time
    for i in (0, 20, 45):
        red = video[i][0].float().mean().item()
        assert red == pytest.approx(RED_STEP * i, abs=8)
    samples = audio.data.mean(0).numpy()
    assert len(samples) / audio.sample_rate == pytest.approx(2.0, abs=0.1)
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / audio.sample_rate)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=5)
    # and the media layer takes it like any file: video with its sound as a separate audio item
    item = prepare(path)
    assert item.kind == "video" and item.resized is not None and item.tokens > 0
    assert item.duration_s == pytest.approx(2.0, abs=0.1)
    assert item.audio_track is not None and item.audio_track.duration_s == pytest.approx(2.0, abs=0.1)


def test_recording_stops_itself_at_the_maximum_length(qtbot, tmp_path):
    source = SyntheticSource(frames=90, fps=30, audio_seconds=0)
    path = record(qtbot, tmp_path, source, max_seconds=1.0)
    from torchcodec.decoders import VideoDecoder

    meta = VideoDecoder(str(path)).metadata
    # frames pushed faster than real time overshoot by what the encoder had queued (here ~0.4 s);
    # without the limit the clip would be the full 3 s
    assert 1.0 <= meta.duration_seconds <= 1.6
    assert source.sent_frames < 90
