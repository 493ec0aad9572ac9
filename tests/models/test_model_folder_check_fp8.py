"""The folder check on a checkpoint in the official MiMo-V2.5 FP8 layout (built by tests/mimo_fp8.py), and on
copies whose fused qkv_proj or config do not match, as vLLM 0.33.0 would meet them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import mimo_fp8
from mimo_desktop.models.folder_check import check_model_folder
from model_checkpoints import bf16_state, build_official_fp8_checkpoint

torch = pytest.importorskip("torch")
from safetensors.torch import load_file, save_file  # noqa: E402


@pytest.fixture(scope="module")
def _fp8_checkpoint(tmp_path_factory) -> Path:
    return build_official_fp8_checkpoint(tmp_path_factory.mktemp("fp8") / "MiMo-tiny-fp8")


@pytest.fixture
def fp8_folder(_fp8_checkpoint, tmp_path) -> Path:
    return Path(shutil.copytree(_fp8_checkpoint, tmp_path / "model"))


def rewrite(folder: Path, changes: dict) -> None:
    index = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    for file in {index[name] for name in changes}:
        tensors = load_file(str(folder / file))
        tensors.update({n: t for n, t in changes.items() if index[n] == file})
        save_file(tensors, str(folder / file))


def test_official_layout_is_ready_and_says_how_it_can_be_split(fp8_folder) -> None:
    report = check_model_folder(fp8_folder)
    assert report.can_start and report.problems == ()
    lines = report.summary_lines()
    assert "Quantization: fp8 (e4m3, 128×128 blocks)" in lines
    assert ("Layout: the official MiMo-V2.5 FP8 one (qkv_proj fused and pre-sharded in 2 chunks, which vLLM 0.33.0 "
            "re-shards for any size below)") in lines
    # 8 heads; the experts' 512 rows allow at most 4 whole 128-row FP8 blocks per GPU
    assert "Tensor parallel: vLLM 0.33.0 can split it over 1, 2 or 4 GPUs" in lines
    assert report.to_dict()["tensor_parallel_sizes"] == [1, 2, 4]


def test_one_kv_head_per_chunk_is_not_the_official_layout(fp8_folder) -> None:
    # vLLM 0.26.0 assumed one chunk per KV head; a sliding-window layer quantized that way has 4 chunks of
    # 704 rows (5.5 blocks: 24 scale rows) instead of 2 chunks of 1408 rows (22 scale rows).
    config = json.loads((fp8_folder / "config.json").read_text())
    per_head = mimo_fp8.QKVGeometry(8, 4, chunks=4)
    state = bf16_state(config)
    p = "model.layers.1.self_attn"
    fused = mimo_fp8.fuse_qkv(*(state[f"{p}.{x}_proj.weight"] for x in "qkv"), per_head)
    w, s = mimo_fp8.quantize_fused_qkv(fused, per_head)
    rewrite(fp8_folder, {f"{p}.qkv_proj.weight": w, f"{p}.qkv_proj.weight_scale_inv": s})

    report = check_model_folder(fp8_folder)

    assert not report.can_start
    assert [p.message for p in report.problems] == [
        "1 fused qkv_proj tensors do not have the layout config.json describes (2 chunks of Q | K | V rows with "
        "128×128 FP8 scales per chunk), so vLLM cannot load them: model.layers.1.self_attn.qkv_proj.weight_scale_inv "
        "has 24 rows, not 22. The weights and config.json do not belong together"]


def test_a_config_whose_layer_pattern_disagrees_with_the_weights_cannot_start(fp8_folder) -> None:
    config = json.loads((fp8_folder / "config.json").read_text())
    config["hybrid_layer_pattern"] = [1, 0]  # the real order is full attention first
    (fp8_folder / "config.json").write_text(json.dumps(config))

    report = check_model_folder(fp8_folder)

    assert not report.can_start
    message = report.problems[0].message
    assert message.startswith("4 fused qkv_proj tensors do not have the layout config.json describes")
    assert "model.layers.0.self_attn.qkv_proj.weight has 2176 rows, not 2816" in message


def test_layout_b_dequantizes_to_layout_a_within_one_fp8_rounding(_fp8_checkpoint) -> None:
    config = json.loads((_fp8_checkpoint / "config.json").read_text())
    stored = {}
    for file in _fp8_checkpoint.glob("model-*.safetensors"):
        stored |= load_file(str(file))
    back = mimo_fp8.from_official_fp8(stored, config)
    original = bf16_state(config)
    assert sorted(back) == sorted(original)
    for name, want in original.items():
        want = want.float()
        if name in stored and name + "_scale_inv" not in stored:
            assert torch.equal(back[name], want), name  # kept as it was (BF16 / float32)
        else:  # e4m3 keeps 3 mantissa bits: within 1/16 of the value, or 2^-9 of its block's scale
            fused = name.rsplit(".", 2)[0] + ".qkv_proj.weight_scale_inv"  # q/k/v share the fused tensor's scales
            scale = stored.get(name + "_scale_inv", stored.get(fused))
            bound = want.abs() / 16 + scale.max() / 512
            assert bool(((back[name] - want).abs() <= bound).all()), name


def test_missing_audio_tokenizer_says_where_vllm_looks(omni_folder) -> None:
    shutil.rmtree(omni_folder / "audio_tokenizer")
    report = check_model_folder(omni_folder)
    assert [p.message for p in report.problems] == ["The audio_tokenizer/ folder is missing"]
    assert (f"vLLM loads MiMo's audio tokenizer from {omni_folder / 'audio_tokenizer'}: it joins audio_tokenizer "
            "to the model folder it is given (the engine always gives it this local folder), so audio input needs "
            "the model's audio_tokenizer/ there.") in report.summary_lines()
