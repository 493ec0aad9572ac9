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
