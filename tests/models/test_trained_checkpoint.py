"""The trained MiMo-V2.5 checkpoint (tests/trained_mimo.py): built from nothing on the CPU (cached), it holds the
official structure, and transformers reproduces the stored goldens (tests/goldens/trained_mimo.json).

Tolerance: on the CPU that made the goldens the build is bit-identical (fixed seeds, deterministic algorithms, two
threads), so tokens and logprobs match exactly. Another x86 CPU (other SIMD paths in the matrix products) may
train to weights that differ in their last bits; the goldens' greedy tokens have a top-1 margin of at least
``MIN_MARGIN`` nats at every step, far above what such bits move, so the tokens must be identical and the top-k
logprobs within ``LOGPROB_TOL`` nats."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import trained_mimo  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
GOLDENS = json.loads(trained_mimo.GOLDEN_FILE.read_text())
LOGPROB_TOL = 0.1


@pytest.fixture(scope="module")
def built():
    return trained_mimo.build(log=lambda line: None)


def test_goldens_have_margin_enough_to_be_stable():
    for row in GOLDENS["prompts"]:
        assert len(row["tokens"]) >= 64 and row["teacher_forced_agrees"], row["prompt"]
        assert row["min_margin"] >= 1.0, f"{row['prompt']}: a near-tie ({row['min_margin']}) would not be stable"
        assert len(row["prompt_ids"]) + len(row["tokens"]) > trained_mimo.WINDOW  # the SWA window is crossed
    assert len(GOLDENS["prompts"]) >= 3
    assert len({row["text"] for row in GOLDENS["prompts"]}) == len(GOLDENS["prompts"]), "answers ignore the prompt"


def test_layout_a_has_the_official_names_and_config(built):
    from safetensors import safe_open

    folder = built["bf16"]
    config = json.loads((folder / "config.json").read_text())
    for key in ("hybrid_layer_pattern", "moe_layer_freq", "swa_num_key_value_heads", "layernorm_epsilon",
                "sliding_window_size", "add_swa_attention_sink_bias", "num_nextn_predict_layers", "v_head_dim"):
        assert key in config, key
    assert config["hybrid_layer_pattern"][0] == 0 and set(config["hybrid_layer_pattern"][1:]) == {1}
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        names = set(f.keys())
        assert f.get_tensor("model.layers.1.mlp.gate.weight").dtype.is_floating_point
        assert str(f.get_tensor("model.layers.1.mlp.gate.weight").dtype) == "torch.float32"
        assert str(f.get_tensor("model.layers.0.self_attn.q_proj.weight").dtype) == "torch.bfloat16"
    assert "model.layers.0.self_attn.attention_sink_bias" not in names  # full attention: no sinks
    for i in range(1, trained_mimo.LAYERS):
        assert f"model.layers.{i}.self_attn.attention_sink_bias" in names
        assert f"model.layers.{i}.mlp.experts.7.down_proj.weight" in names
    for i in range(3):
        for part in ("enorm.weight", "hnorm.weight", "eh_proj.weight", "self_attn.q_proj.weight",
                     "self_attn.attention_sink_bias", "pre_mlp_layernorm.weight", "mlp.gate_proj.weight",
                     "final_layernorm.weight"):
            assert f"model.mtp.layers.{i}.{part}" in names


def test_transformers_reproduces_the_goldens(built):
    rows = trained_mimo.reference_run(built["bf16"], [g["prompt"] for g in GOLDENS["prompts"]],
                                      GOLDENS["max_new_tokens"])
    for got, gold in zip(rows, GOLDENS["prompts"]):
        assert got["prompt_ids"] == gold["prompt_ids"]
        assert got["tokens"] == gold["tokens"], gold["prompt"]
        assert got["text"] == gold["text"]
        worst = max(abs(a - b) for ga, gb in zip(got["top_logprobs"], gold["top_logprobs"]) for a, b in zip(ga, gb))
        assert worst <= LOGPROB_TOL, (gold["prompt"], worst)
        assert got["mtp1_draft_hit_rate"] >= 0.6, got["mtp1_draft_hit_rate"]


def test_layout_b_dequantizes_to_layout_a(built):
    """Every weight of the FP8 folder, dequantized with its block scales and un-fused, is the BF16 weight within
    e4m3's rounding error (3 mantissa bits: half a step is 1/16 of the value, plus the scale's headroom)."""
    import mimo_fp8
    from safetensors.torch import load_file

    a = load_file(str(built["bf16"] / "model.safetensors"))
    config = json.loads((built["fp8"] / "config.json").read_text())
    back = mimo_fp8.from_official_fp8(load_file(str(built["fp8"] / "model.safetensors")), config)
    assert set(back) == set(a)
    fp8 = load_file(str(built["fp8"] / "model.safetensors"))
    quantized = 0
    for name, ref in a.items():
        got, ref = back[name], ref.float()
        assert got.shape == ref.shape, name
        fused = name.replace(".q_proj.", ".qkv_proj.").replace(".k_proj.", ".qkv_proj.").replace(".v_proj.", ".qkv_proj.")
        if fp8.get(fused, fp8.get(name)).dtype == torch.float8_e4m3fn:
            quantized += 1
            err = (got - ref).abs()
            assert (err <= ref.abs() * (1 / 16 + 2 ** -8) + ref.abs().amax() * 2 ** -9).all(), name
            assert err.max() > 0, f"{name} is not quantized at all"
        else:  # BF16 / float32 tensors travel unchanged
            assert torch.equal(got, ref), name
    assert quantized > 3 * trained_mimo.LAYERS
    assert config["quantization_config"]["weight_block_size"] == [128, 128]


def test_folder_check_says_the_fp8_layout_runs_on_one_gpu_only(built):
    from mimo_desktop.models.folder_check import check_model_folder

    report = check_model_folder(built["fp8"])
    assert report.can_start, report.problems
    # experts 128 wide are a single 128-row FP8 block: vLLM 0.33 refuses to split them over 2 or more GPUs
    assert "Tensor parallel: vLLM 0.33.0 can run it on 1 GPU only (no other size divides it)" in report.summary_lines()
