"""Our processor against values recorded from vLLM 0.33.0's MiMo processor (golden_vllm.json).

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


# Pixels are (uint8 / 255 - mean) / std in float32: one rounding step, so 1e-4 is generous on any CPU.
PIXEL_ABS = 1e-4
# Log-mel features are log(power) of a float32 STFT (960-point frames) through a mel matrix, summed by
# whatever SIMD kernels the CPU has: the power of a quiet bin comes out of large terms that cancel, so its
# relative error is many float32 epsilons, and the log turns a relative error into an absolute one
# (d log p = dp / p). Seen: -4.189870 on an AMD EPYC against -4.189755 recorded on Intel (1.15e-4).
# 2e-3 in log is a 0.2 % difference in a bin's power: far below anything a resampler or window change
# makes (those move values by 1e-2 and more), so the check still catches a wrong feature.
FEATURE_ABS = 2e-3


def _matches(ours: torch.Tensor, recorded: dict, abs_tol: float = PIXEL_ABS) -> None:
    flat = ours.reshape(-1).double()
    assert list(ours.shape) == recorded["shape"]
    # independent per-value errors of abs_tol add up to about abs_tol * sqrt(n) in the sum
    sum_abs = 1e-2 if abs_tol == PIXEL_ABS else abs_tol * flat.numel() ** 0.5
    assert float(flat.sum()) == pytest.approx(recorded["sum"], rel=1e-5, abs=sum_abs)
    picks = np.linspace(0, flat.numel() - 1, len(recorded["values"])).round().astype(int).tolist()
    assert [float(flat[i]) for i in picks] == pytest.approx(recorded["values"], abs=abs_tol)


def test_golden_file_says_how_it_was_made():
    assert GOLDEN["command"] == ".venv/bin/python tests/media/make_golden.py" and GOLDEN["vllm"] == "0.33.0"


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
        _matches(spec, case["features"], FEATURE_ABS)
