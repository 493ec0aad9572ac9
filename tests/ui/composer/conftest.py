"""Composer fixtures: a real Composer widget and real media files generated once per session."""

from __future__ import annotations

import json
import subprocess
import wave

import numpy as np
import pytest
from PIL import Image

from mimo_desktop.ui.composer.composer import Composer


@pytest.fixture
def composer(qtbot, no_thread_leaks):
    widget = Composer()
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """photo.png 640×480, clip.mp4 (2 s, 320×240, with a tone), tone.wav (1.5 s), and broken files."""
    folder = tmp_path_factory.mktemp("media")
    Image.new("RGB", (640, 480), (200, 30, 30)).save(folder / "photo.png")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "mpeg4", "-c:a", "aac",
         "-shortest", str(folder / "clip.mp4")],
        check=True,
    )
    rate = 24000
    t = np.arange(int(1.5 * rate)) / rate
    with wave.open(str(folder / "tone.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.sin(2 * np.pi * 330 * t) * np.linspace(0, 1, t.size) * 20000).astype(np.int16).tobytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)  # a JPEG header, then nothing
    (folder / "empty.wav").write_bytes(b"")
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A model folder with the published processor settings and a small word-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = tmp_path_factory.mktemp("model")
    config = {
        "vision_config": {"patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2},
        "processor_config": {"image_min_pixels": 8192, "image_max_pixels": 8388608, "fps": 1.0},
        "audio_config": {"sampling_rate": 24000},
    }
    (folder / "config.json").write_text(json.dumps(config))
    vocab = {"[UNK]": 0, "describe": 1, "this": 2, "photo": 3, **{str(d): 4 + d for d in range(10)}, ":": 14}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    return folder
