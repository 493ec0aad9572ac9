"""The fit estimate: per-GPU weights + KV cache + reserve against the GPUs present."""

from __future__ import annotations

import pytest

from mimo_desktop.models.errors import FitError
from mimo_desktop.models.fit import (
    RUNTIME_RESERVE_BYTES, estimate_fit, kv_cache_bytes, minimum_tp, needs_per_gpu, valid_tp_sizes,
)
from mimo_desktop.models.gpus import GpuInfo, _visible_indices, detect_gpus
from mimo_desktop.models.model_config import interpret_config
from mimo_desktop.models.units import GIB

# MiMo-V2-Flash-like numbers: 12 full-attention layers (4 KV heads) and 36 sliding-window ones (8 KV heads,
# 128-token window), K head 192 and V head 128.
PATTERN = [0] + [1, 1, 1, 0] * 11 + [1, 1, 1]
CONFIG = {
    "architectures": ["MiMoV2ForCausalLM"], "model_type": "mimo_v2",
    "hidden_size": 4096, "num_hidden_layers": 48, "num_attention_heads": 64, "num_key_value_heads": 4,
    "head_dim": 192, "v_head_dim": 128, "swa_num_attention_heads": 64, "swa_num_key_value_heads": 8,
    "swa_head_dim": 192, "swa_v_head_dim": 128, "sliding_window_size": 128, "hybrid_layer_pattern": PATTERN,
    "n_routed_experts": 256, "max_position_embeddings": 262144, "num_nextn_predict_layers": 3,
    "torch_dtype": "bfloat16",
}
SHAPE = interpret_config(CONFIG).shape
WEIGHTS = 300 * GIB


def h100(index: int, free: int = 79 * GIB) -> GpuInfo:
    return GpuInfo(index, "NVIDIA H100 80GB HBM3", 80 * GIB, free)


def test_shape_counts_full_and_window_layers() -> None:
    full, window = SHAPE.attention
    assert (full.layers, full.kv_heads, full.window) == (12, 4, None)
    assert (window.layers, window.kv_heads, window.window) == (36, 8, 128)
    assert SHAPE.mtp_layers == 3


def test_kv_cache_keeps_only_the_window_for_sliding_layers() -> None:
    # TP 4: one full KV head and two window KV heads per GPU; 2 bytes per bf16 element.
    full = 12 * 1 * (192 + 128) * 2 * 32768
    window = 36 * 2 * (192 + 128) * 2 * 128
    assert kv_cache_bytes(SHAPE, 4, 32768) == full + window


def test_kv_heads_are_replicated_when_tp_exceeds_them() -> None:
    per_token_tp8 = 12 * 1 * 320 * 2 * 1000 + 36 * 1 * 320 * 2 * 128
    per_token_tp16 = per_token_tp8  # still one head of each kind per GPU
    assert kv_cache_bytes(SHAPE, 8, 1000) == per_token_tp8
    assert kv_cache_bytes(SHAPE, 16, 1000) == per_token_tp16


def test_needs_split_weights_and_add_the_reserve() -> None:
    needs = needs_per_gpu(SHAPE, WEIGHTS, 8, 32768, replicated_bytes=100)
    assert needs.weights == WEIGHTS // 8 + 100
    assert needs.reserve == RUNTIME_RESERVE_BYTES
    assert needs.total == needs.weights + needs.kv_cache + needs.reserve


def test_tp_sizes_must_divide_heads() -> None:
    assert valid_tp_sizes(SHAPE) == (1, 2, 4, 8, 16, 32, 64)
    with pytest.raises(FitError, match="Tensor-parallel size 3 does not work with this model: 3 does not divide "
                                       "the 64 attention heads. Use one of 1, 2, 4, 8, 16, 32, 64."):
        needs_per_gpu(SHAPE, WEIGHTS, 3, 1024)
    with pytest.raises(FitError, match="positive number of tokens"):
        needs_per_gpu(SHAPE, WEIGHTS, 2, 0)


def test_minimum_tp_for_80_gib_gpus() -> None:
    # 300 GiB / 4 = 75 GiB > 72 GiB usable; / 8 = 37.5 GiB fits.
    assert minimum_tp(SHAPE, WEIGHTS, 80 * GIB, 32768) == 8
    assert minimum_tp(SHAPE, WEIGHTS, 141 * GIB, 32768) == 4


def test_fits_on_eight_h100() -> None:
    estimate = estimate_fit(SHAPE, WEIGHTS, 8, 32768, [h100(i) for i in range(8)])
    assert estimate.fits
    assert estimate.message.startswith("Fits on 8 × NVIDIA H100 80GB HBM3 (80.0 GiB each) at TP 8: 37.5 GiB weights")
    assert "of 72.0 GiB usable (90%)" in estimate.message
    assert estimate.warnings == ()


def test_too_small_tp_says_the_minimum() -> None:
    estimate = estimate_fit(SHAPE, WEIGHTS, 4, 32768, [h100(i) for i in range(8)])
    assert not estimate.fits
    assert estimate.minimum_gpus == 8
    assert estimate.message.endswith(
        "The model needs at least 8 × NVIDIA H100 80GB HBM3 (80.0 GiB each) for a 32,768-token context; "
        "this machine has 8: use TP 8."
    )


def test_not_enough_gpus_present() -> None:
    estimate = estimate_fit(SHAPE, WEIGHTS, 8, 32768, [h100(0), h100(1)])
    assert not estimate.fits
    assert estimate.message == (
        "TP 8 needs 8 GPUs but this machine has 2. "
        "The model needs at least 8 × NVIDIA H100 80GB HBM3 (80.0 GiB each) for a 32,768-token context; "
        "this machine has 2."
    )


def test_no_gpu_says_so_and_what_it_would_take() -> None:
    estimate = estimate_fit(SHAPE, WEIGHTS, 8, 32768, [])
    assert not estimate.fits and estimate.gpus_present == 0
    assert estimate.message.startswith("No NVIDIA GPU on this machine")
    assert ("needs at least 8 × 80 GiB GPUs (H100 / A100 80GB) (context up to 262,144 tokens, the model's maximum) "
            "or 4 × 141 GiB GPUs (H200) (context up to 262,144 tokens, the model's maximum)") in estimate.message


def test_busy_gpu_is_warned_about() -> None:
    estimate = estimate_fit(SHAPE, WEIGHTS, 8, 32768, [h100(i, free=60 * GIB if i == 3 else 79 * GIB) for i in range(8)])
    assert len(estimate.warnings) == 1
    assert estimate.warnings[0].startswith("GPU 3 (NVIDIA H100 80GB HBM3) has only 60.0 GiB free of 80.0 GiB")


def test_model_too_large_for_any_count() -> None:
    estimate = estimate_fit(SHAPE, 100_000 * GIB, 64, 1024, [h100(i) for i in range(64)])
    assert "does not fit on any number of NVIDIA H100" in estimate.message


def test_detect_gpus_reports_a_reason_or_real_gpus() -> None:
    survey = detect_gpus()
    if survey:
        assert all(g.total_bytes >= g.free_bytes > 0 and g.name for g in survey.gpus)
    else:
        assert survey.reason and survey.gpus == ()


@pytest.mark.parametrize(("visible", "expected"), [(None, [0, 1, 2, 3]), ("2,0", [2, 0]), ("1, 7", [1]), ("", []),
                                                   ("GPU-5e1f", [])])
def test_cuda_visible_devices_is_respected(visible, expected, monkeypatch) -> None:
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert _visible_indices(4) == expected


def test_fit_for_a_checked_folder_picks_the_smallest_tp(omni_folder) -> None:
    from mimo_desktop.models.fit import estimate_fit_for
    from mimo_desktop.models.folder_check import check_model_folder

    report = check_model_folder(omni_folder)
    audio_bytes = (omni_folder / "audio_tokenizer" / "model.safetensors").stat().st_size
    small = [GpuInfo(i, "Small GPU", 4 * GIB, 4 * GIB) for i in range(2)]

    estimate = estimate_fit_for(report, gpus=small, context_tokens=10**9)

    assert estimate.fits and estimate.needs.tp == 1
    assert estimate.needs.context_tokens == 4096  # capped at max_position_embeddings
    assert estimate.needs.weights == report.weight_bytes + audio_bytes  # the audio tokenizer is on every GPU
    tiny = [GpuInfo(0, "Tiny GPU", 1 * GIB, 1 * GIB)]
    assert "does not fit on any number of Tiny GPU" in estimate_fit_for(report, gpus=tiny).message


def test_fit_for_a_folder_without_config_is_a_clear_error(omni_folder) -> None:
    from mimo_desktop.models.fit import estimate_fit_for
    from mimo_desktop.models.folder_check import check_model_folder

    (omni_folder / "config.json").unlink()
    with pytest.raises(FitError, match="config.json does not give the model's layer sizes"):
        estimate_fit_for(check_model_folder(omni_folder), gpus=[])


class FakeNvml:
    """Stands in for pynvml where no NVIDIA driver exists (this machine); same calls, same shapes."""

    class NVMLError(Exception):
        pass

    def __init__(self, gpus: list[tuple[str, int, int]]) -> None:
        self.gpus = gpus
        self.shutdowns = 0

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return self.gpus[handle][0].encode()  # older pynvml returns bytes

    def nvmlDeviceGetMemoryInfo(self, handle: int):
        from types import SimpleNamespace

        _, total, free = self.gpus[handle]
        return SimpleNamespace(total=total, free=free, used=total - free)


def test_nvml_survey_follows_cuda_visible_devices(monkeypatch) -> None:
    import sys

    nvml = FakeNvml([("NVIDIA H200", 141 * GIB, 140 * GIB), ("NVIDIA H200", 141 * GIB, 10 * GIB),
                     ("NVIDIA H200", 141 * GIB, 139 * GIB)])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,1")

    survey = detect_gpus()

    assert survey.source == "nvml"
    assert survey.gpus == (GpuInfo(0, "NVIDIA H200", 141 * GIB, 139 * GIB), GpuInfo(1, "NVIDIA H200", 141 * GIB, 10 * GIB))
    assert nvml.shutdowns == 1


@pytest.mark.gpu
@pytest.mark.skipif(not detect_gpus(), reason="needs an NVIDIA GPU")
def test_detect_gpus_on_a_gpu_host_matches_torch() -> None:
    import torch

    survey = detect_gpus()
    assert len(survey.gpus) == torch.cuda.device_count()
    assert all(0 < g.free_bytes <= g.total_bytes for g in survey.gpus)
