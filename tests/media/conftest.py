"""Media test fixtures: a tiny model folder and generated media files, made once per session."""

from __future__ import annotations

import pytest

from media_tiny_model import write_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("tiny-mimo"))


@pytest.fixture(scope="session")
def media_files(tmp_path_factory):
    """name -> path of every generated good file (images, videos, audio)."""
    from media_samples import FFMPEG, write_audio, write_images, write_videos

    if FFMPEG is None:
        pytest.skip("the ffmpeg command is needed to make test videos and audio")
    out = tmp_path_factory.mktemp("media")
    return {**write_images(out), **write_videos(out), **write_audio(out)}


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, media_files):
    from media_samples import video_without_frames, write_bad_files

    out = tmp_path_factory.mktemp("bad-media")
    files = write_bad_files(out, media_files)
    files["no_frames.mp4"] = video_without_frames(out)
    files["strip_1x5000.png"] = media_files["strip_1x5000.png"]
    files["blip.wav"] = media_files["blip.wav"]
    return files


@pytest.fixture(scope="session")
def tiny_config(tiny_model_dir):
    from mimo_desktop.media.config import load_model_config

    return load_model_config(tiny_model_dir)
