"""Previews for the UI: thumbnails upright and small, poster frames from the video, waveforms in 0…1."""

from __future__ import annotations

import numpy as np

from mimo_desktop.media.preview import preview, waveform_peaks


def test_picture_thumbnail_is_small_upright_rgb(media_files):
    shot = preview(media_files["rotated_exif6.jpg"], side=128)
    assert shot.kind == "image" and shot.picture.dtype == np.uint8
    assert shot.picture.shape == (128, 96, 3)  # 640×480 stored, shown turned: 480 wide, 640 high
    assert shot.picture[3, -3, 0] > 200 and shot.picture[3, -3, 2] < 100  # yellow corner now top-right


def test_video_poster_frame_and_duration(media_files):
    shot = preview(media_files["clip.mp4"], side=160)
    assert shot.kind == "video" and shot.duration_s == 3.0
    assert shot.picture.shape == (120, 160, 3) and shot.picture.dtype == np.uint8
    assert shot.picture.std() > 10  # a real picture, not a blank


def test_audio_waveform_peaks(media_files):
    shot = preview(media_files["tone.flac"], peaks=200)
    assert shot.kind == "audio" and abs(shot.duration_s - 3.0) < 0.01
    assert shot.peaks.shape == (200,) and shot.peaks.max() == 1.0
    assert shot.peaks.min() > 0.5  # a steady tone: every slice is loud


def test_peaks_of_silence_and_of_few_samples():
    assert waveform_peaks(np.zeros(1000), 50).max() == 0
    assert waveform_peaks(np.array([0.5, -1.0]), 200).tolist() == [0.5, 1.0]
