"""The fit estimate and TP sizes for the official MiMo-V2.5 FP8 checkpoint (its published config numbers)."""

from __future__ import annotations

import math
from unittest import mock

import pytest

from mimo_desktop.models.fit import estimate_fit, longest_context, valid_tp_sizes
from mimo_desktop.models.gpus import GpuInfo
from mimo_desktop.models.model_config import interpret_config, tp_refusal
from mimo_desktop.models.units import GIB

# config.json of XiaomiMiMo/MiMo-V2.5: 48 layers, 9 of them full attention (4 KV heads), 39 sliding-window ones
# (8 KV heads, 128 tokens), K head 192 / V head 128, 256 experts of 2048, a dense first layer of 16384, 1M context,
# 128×128 FP8 blocks with the fused, pre-sharded qkv_proj. The vision tower's 32 heads and 8 KV heads are as a public
# reimplementation of it reads them (q 2048 / k 512 rows at head dim 64); not seen in the checkpoint's own config.
FULL_LAYERS = {0, 5, 11, 17, 23, 29, 35, 41, 47}
MIMO_V25 = {
    "architectures": ["MiMoV2ForCausalLM"], "model_type": "mimo_v2", "hidden_size": 4096, "num_hidden_layers": 48,
    "num_attention_heads": 64, "num_key_value_heads": 4, "head_dim": 192, "v_head_dim": 128,
    "swa_num_attention_heads": 64, "swa_num_key_value_heads": 8, "swa_head_dim": 192, "swa_v_head_dim": 128,
    "sliding_window_size": 128, "hybrid_layer_pattern": [0 if i in FULL_LAYERS else 1 for i in range(48)],
    "n_routed_experts": 256, "moe_intermediate_size": 2048, "intermediate_size": 16384,
    "max_position_embeddings": 1048576, "num_nextn_predict_layers": 3, "attention_projection_layout": "fused_qkv",
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]},
    "torch_dtype": "bfloat16", "vision_config": {"depth": 28, "num_heads": 32, "num_key_value_heads": 8},
    "audio_config": {"group_size": 4},
}
SHAPE = interpret_config(MIMO_V25).shape
WEIGHTS = 295 * 10**9  # the official FP8 checkpoint, ~295 GB
MAX = 1048576


def gpus(n: int, size_gib: int) -> list[GpuInfo]:
    return [GpuInfo(i, f"GPU {size_gib}G", size_gib * GIB, size_gib * GIB) for i in range(n)]


def test_official_layout_allows_tp_1_2_4_8() -> None:
    assert valid_tp_sizes(SHAPE) == (1, 2, 4, 8)
    assert tp_refusal(SHAPE, 3) == "3 does not divide the 64 attention heads"
    assert tp_refusal(SHAPE, 16) == ("16 does not divide the vision tower's 8 KV heads "
                                     "(vLLM splits them without replicas)")
    # the language model alone could go to 16 (two 8-GPU machines), not further
    text_only = interpret_config({k: v for k, v in MIMO_V25.items() if k not in ("vision_config", "audio_config")})
    assert valid_tp_sizes(text_only.shape) == (1, 2, 4, 8, 16)
    # 2048 / 32 = 64 rows per GPU: half a 128-row FP8 block, which vLLM refuses to split
    assert tp_refusal(text_only.shape, 32) == ("32 GPUs would cut each expert's 2048-wide MLP into 64-wide "
                                               "slices, not whole 128×128 FP8 blocks")


@pytest.mark.vllm
@pytest.mark.parametrize("tp", [1, 2, 3, 4, 6, 8, 12, 16, 32, 64])
def test_tp_rules_agree_with_vllms_own_checks(tp) -> None:
    """Where our rules say yes, vLLM 0.33.0's FP8 QKV sharding, MoE block check and vision-tower head split
    accept TP ``tp``; where they say no, one of vLLM's checks refuses it."""
    torch = pytest.importorskip("torch")
    from vllm.distributed.utils import divide
    from vllm.model_executor.layers.quantization.utils import fp8_utils
    from vllm.model_executor.models.mimo_v2 import _shard_fp8_qkv_proj

    def vllm_accepts() -> bool:
        try:
            if 64 % tp:
                return False  # vLLM asserts num_heads % tp_size == 0 before anything else
            divide(32, tp), divide(8, tp)  # MiMoVisionAttention: heads and KV heads per GPU
            with mock.patch("vllm.distributed.get_tensor_model_parallel_world_size", return_value=tp):
                fp8_utils.validate_fp8_block_shape_moe(2048 // tp if 2048 % tp == 0 else 2048 / tp, [128, 128])
            for kv, rows in ((4, 13568), (8, 14848)):  # full / sliding-window fused qkv_proj rows
                w = torch.zeros(rows, 128, dtype=torch.float8_e4m3fn)
                s = torch.ones(4 * math.ceil(rows / 4 / 128), 1)  # scales tiled per checkpoint chunk
                _shard_fp8_qkv_proj(w, s, 64, kv, 192, 128, tp - 1, tp, 4)
        except (AssertionError, ValueError):
            return False
        return True

    assert vllm_accepts() == (tp_refusal(SHAPE, tp) is None)


def test_80_gib_cards_need_tp_8_for_the_whole_1m_context() -> None:
    eight = estimate_fit(SHAPE, WEIGHTS, 8, MAX, gpus(8, 80))
    assert eight.fits and eight.longest_context == MAX
    assert eight.message.endswith("The model's whole 1,048,576-token context fits at TP 8.")

    four = estimate_fit(SHAPE, WEIGHTS, 4, MAX, gpus(4, 80))
    # Per GPU at TP 4: 72 GiB usable - 73.75 GB weights - 3 GiB reserve = 338,185,856 bytes for the KV cache.
    # 39 window layers × 2 KV heads × (192 + 128) × 2 bytes × 128 tokens take 6,389,760 of them whatever the
    # context; each token then costs 9 full layers × 1 KV head × 320 × 2 bytes = 5,760.
    room = int(80 * GIB * 0.9) - WEIGHTS // 4 - 3 * GIB
    assert room == 338_185_856
    expected = (room - 39 * 2 * 320 * 2 * 128) // (9 * 1 * 320 * 2)
    assert not four.fits and four.longest_context == expected == 57_603
    assert "At TP 4 a context of up to 57,603 of the model's 1,048,576 tokens fits" in four.message
    assert four.message.endswith("The model needs at least 8 × GPU 80G (80.0 GiB each) for a 1,048,576-token "
                                 "context; this machine has 4.")


def test_141_gib_cards_hold_the_whole_context_at_tp_4_and_nothing_at_tp_2() -> None:
    four = estimate_fit(SHAPE, WEIGHTS, 4, MAX, gpus(4, 141))
    assert four.fits and four.longest_context == MAX
    two = estimate_fit(SHAPE, WEIGHTS, 2, MAX, gpus(2, 141))
    assert not two.fits and two.longest_context == 0  # 137.4 GiB of weights per GPU, 126.9 GiB usable
    assert "At TP 2 the weights alone do not leave room for any context." in two.message
    assert longest_context(SHAPE, WEIGHTS, 8, 80 * GIB) == MAX


def test_without_gpus_the_estimate_names_both_card_sizes_and_their_context() -> None:
    message = estimate_fit(SHAPE, WEIGHTS, 8, MAX, []).message
    assert message.endswith(
        "To run it locally the model needs at least 8 × 80 GiB GPUs (H100 / A100 80GB) (context up to 1,048,576 "
        "tokens, the model's maximum) or 4 × 141 GiB GPUs (H200) (context up to 1,048,576 tokens, the model's "
        "maximum).")
