"""Build real MiMo-V2 checkpoint folders for the tests: tiny config + tokenizer + safetensors shards."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

import tiny_mimo

HIDDEN = 256
VOCAB = 1024


def tensors_for(num_layers: int = 2, mtp: bool = True) -> dict[str, np.ndarray]:
    """A MiMo-V2-shaped set of tensor names (small shapes; the check reads names and sizes, not values)."""
    rng = np.random.default_rng(0)

    def t(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float16)

    tensors = {"model.embed_tokens.weight": t(VOCAB, HIDDEN), "lm_head.weight": t(VOCAB, HIDDEN),
               "model.norm.weight": t(HIDDEN)}
    for i in range(num_layers):
        p = f"model.layers.{i}"
        tensors[f"{p}.self_attn.qkv_proj.weight"] = t(4 * 192 + 2 * 192 + 2 * 128, HIDDEN)
        tensors[f"{p}.self_attn.o_proj.weight"] = t(HIDDEN, 4 * 128)
        tensors[f"{p}.mlp.gate_proj.weight"] = t(512, HIDDEN)
        tensors[f"{p}.input_layernorm.weight"] = t(HIDDEN)
    if mtp:
        p = "model.mtp.layers.0"
        for name, shape in [("enorm.weight", (HIDDEN,)), ("hnorm.weight", (HIDDEN,)),
                            ("eh_proj.weight", (HIDDEN, 2 * HIDDEN)), ("final_layernorm.weight", (HIDDEN,))]:
            tensors[f"{p}.{name}"] = t(*shape)
    return tensors


def write_shards(folder: Path, tensors: dict[str, np.ndarray], num_shards: int = 3) -> list[str]:
    """Write ``tensors`` as ``num_shards`` safetensors files plus model.safetensors.index.json."""
    names = sorted(tensors)
    files = [f"model-{i + 1:05d}-of-{num_shards:05d}.safetensors" for i in range(num_shards)]
    weight_map = {name: files[i % num_shards] for i, name in enumerate(names)}
    for file in files:
        save_file({n: tensors[n] for n in names if weight_map[n] == file}, str(folder / file))
    total = sum(int(a.nbytes) for a in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=1))
    return files


def build_checkpoint(folder: Path, *, audio: bool = True, mtp: bool = True, num_shards: int = 3) -> Path:
    """A complete tiny MiMo-V2 Omni (with audio) or text checkpoint at ``folder``."""
    tiny_mimo.main(str(folder), omni=audio, audio=audio)
    write_shards(folder, tensors_for(mtp=mtp), num_shards)
    return folder


def copy_checkpoint(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def same_tree(source: Path, copy: Path) -> bool:
    names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(source, copy, names, shallow=False)
    return not mismatch and not errors and len(match) == len(names)


# The official MiMo-V2.5 FP8 layout at a tiny size (tests/mimo_fp8.py): 8 heads; 2 KV heads on the full-attention
# layer and 4 on the sliding-window one, so the fused qkv_proj comes in 2 chunks with two KV heads per chunk on
# the SWA layer; head_dim 192 / v_head_dim 128, so 128-row scale blocks straddle K and V as in the real model.
FP8_CONFIG = {
    "num_attention_heads": 8, "num_key_value_heads": 2, "swa_num_attention_heads": 8, "swa_num_key_value_heads": 4,
    "intermediate_size": 1024, "moe_intermediate_size": 512, "hybrid_layer_pattern": [0, 1], "moe_layer_freq": [0, 1],
    "n_routed_experts": 4, "num_nextn_predict_layers": 1, "add_swa_attention_sink_bias": True,
    "add_full_attention_sink_bias": False,
}


def bf16_state(config: dict) -> dict:
    """Layout (a): separate q/k/v projections under the hub names, small random weights (torch)."""
    import torch

    gen = torch.Generator().manual_seed(0)

    def t(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen) * 0.02).to(torch.bfloat16)

    def attention(p: str, swa: bool) -> dict:
        heads = config["swa_num_attention_heads" if swa else "num_attention_heads"]
        kv = config["swa_num_key_value_heads" if swa else "num_key_value_heads"]
        out = {f"{p}.q_proj.weight": t(heads * 192, HIDDEN), f"{p}.k_proj.weight": t(kv * 192, HIDDEN),
               f"{p}.v_proj.weight": t(kv * 128, HIDDEN), f"{p}.o_proj.weight": t(HIDDEN, heads * 128)}
        if swa:
            out[f"{p}.attention_sink_bias"] = t(heads)
        return out

    def mlp(p: str, inter: int) -> dict:
        return {f"{p}.gate_proj.weight": t(inter, HIDDEN), f"{p}.up_proj.weight": t(inter, HIDDEN),
                f"{p}.down_proj.weight": t(HIDDEN, inter)}

    state = {"model.embed_tokens.weight": t(VOCAB, HIDDEN), "lm_head.weight": t(VOCAB, HIDDEN),
             "model.norm.weight": t(HIDDEN)}
    for i, swa in enumerate(p == 1 for p in config["hybrid_layer_pattern"]):
        p = f"model.layers.{i}"
        state |= attention(f"{p}.self_attn", swa)
        state |= {f"{p}.input_layernorm.weight": t(HIDDEN), f"{p}.post_attention_layernorm.weight": t(HIDDEN)}
        if config["moe_layer_freq"][i]:
            state |= {f"{p}.mlp.gate.weight": t(config["n_routed_experts"], HIDDEN).float(),
                      f"{p}.mlp.gate.e_score_correction_bias": t(config["n_routed_experts"]).float()}
            for e in range(config["n_routed_experts"]):
                state |= mlp(f"{p}.mlp.experts.{e}", config["moe_intermediate_size"])
        else:
            state |= mlp(f"{p}.mlp", config["intermediate_size"])
    p = "model.mtp.layers.0"
    state |= attention(f"{p}.self_attn", swa=True) | mlp(f"{p}.mlp", config["intermediate_size"])
    for norm in ("enorm", "hnorm", "input_layernorm", "pre_mlp_layernorm", "final_layernorm"):
        state[f"{p}.{norm}.weight"] = t(HIDDEN)
    state[f"{p}.eh_proj.weight"] = t(HIDDEN, 2 * HIDDEN)
    return state


def write_torch_shards(folder: Path, tensors: dict, num_shards: int = 2) -> None:
    from safetensors.torch import save_file as save_torch

    names = sorted(tensors)
    files = [f"model-{i + 1:05d}-of-{num_shards:05d}.safetensors" for i in range(num_shards)]
    weight_map = {name: files[i * num_shards // len(names)] for i, name in enumerate(names)}
    for file in files:
        save_torch({n: tensors[n].contiguous() for n in names if weight_map[n] == file}, str(folder / file))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=1))


def build_official_fp8_checkpoint(folder: Path, *, audio: bool = True) -> Path:
    """A tiny MiMo-V2.5 Omni folder in the official FP8 layout: config keys + tensors from tests/mimo_fp8.py."""
    import mimo_fp8

    tiny_mimo.main(str(folder), omni=audio, audio=audio)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) | FP8_CONFIG
    config |= mimo_fp8.config_keys(config)
    config_path.write_text(json.dumps(config, indent=1))
    write_torch_shards(folder, mimo_fp8.to_official_fp8(bf16_state(config), config))
    return folder
