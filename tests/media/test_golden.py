"""Our processor against values recorded from vLLM 0.26.0's MiMo processor (golden_vllm.json).

Runs without vLLM: this is what CI checks where vLLM cannot be installed. The
file records the command that produced it; test_parity_vllm.py compares live.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from make_golden import golden_audio, golden_image, golden_video  # noqa: E402
from PIL import Image  # noqa: E402

from mimo_desktop.media import rules, tensors  # noqa: E402
from mimo_desktop.media.config import config_from_hf  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "golden_vllm.json").read_text())
CASES = [(name, record) for name, record in GOLDEN["configs"].items()]


def _config(record):
    spec = record["spec"]
    return config_from_hf({"vision_config": {"patch_size": spec["patch_size"]},
                           "processor_config": spec["processor_config"]})


def _matches(ours: torch.Tensor, recorded: dict) -> None:
    flat = ours.reshape(-1).double()
    assert list(ours.shape) == recorded["shape"]
    assert float(flat.sum()) == pytest.approx(recorded["sum"], rel=1e-5, abs=1e-2)
    picks = np.linspace(0, flat.numel() - 1, len(recorded["values"])).round().astype(int).tolist()
    assert [float(flat[i]) for i in picks] == pytest.approx(recorded["values"], abs=1e-4)


def test_golden_file_says_how_it_was_made():
    assert GOLDEN["command"] == ".venv/bin/python tests/media/make_golden.py" and GOLDEN["vllm"] == "0.26.0"


@pytest.mark.parametrize(("name", "record"), CASES)
def test_images_match_recorded_reference(name, record):
    cfg = _config(record)
    for case in record["images"]:
        h, w = case["size"]
        resized = rules.smart_resize(h, w, cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels)
        patches, grid = tensors.image_pixel_values(Image.fromarray(golden_image(h, w)), cfg)
        assert list(resized) == case["resized"] and list(grid) == case["grid"], (name, h, w)
        _matches(patches, case["pixels"])


@pytest.mark.parametrize(("name", "record"), CASES)
def test_videos_match_recorded_reference(name, record):
    cfg = _config(record)
    for case in record["videos"]:
        patches, grid = tensors.video_pixel_values(golden_video(case["frames"], *case["size"]), cfg)
        assert list(grid) == case["grid"], (name, case["frames"], case["size"])
        _matches(patches, case["pixels"])


@pytest.mark.parametrize(("name", "record"), CASES)
def test_audio_matches_recorded_reference(name, record):
    cfg = _config(record)
    featurizer = tensors.AudioFeaturizer(cfg)
    for case in record["audio"]:
        mono = featurizer.to_model_rate(golden_audio(case["rate"], case["channels"], case["samples"]), case["rate"])
        spec, tokens = featurizer.features(mono)
        assert tokens == case["tokens"]
        _matches(spec, case["features"])
