"""Check the weight shards of a checkpoint folder against its index, from headers only."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mimo_desktop.models.errors import ShardHeaderError
from mimo_desktop.models.safetensors_header import ShardHeader, read_shard_header

INDEX_NAME = "model.safetensors.index.json"

ShardStatus = Literal["ok", "missing", "truncated", "oversized", "unreadable", "mismatch"]

# vLLM's MiMo-V2 MTP loader takes checkpoint tensors named model.mtp.layers.<i>.* (mimo_v2_mtp.py).
_MTP_TENSOR = re.compile(r"(?:^|\.)mtp\.layers\.(\d+)\.")


@dataclass(frozen=True)
class ShardCheck:
    name: str
    status: ShardStatus
    size: int | None  # bytes on disk, None when missing
    expected_size: int | None  # bytes its header promises, None when unreadable
    detail: str = ""  # plain words for anything but "ok"


@dataclass(frozen=True)
class WeightsCheck:
    shards: tuple[ShardCheck, ...]
    weight_bytes: int  # tensor bytes of the whole checkpoint
    tensor_names: frozenset[str]
    index_error: str | None  # the index exists but cannot be used
    qkv_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # fused qkv_proj tensors, from headers

    @property
    def bad_shards(self) -> tuple[ShardCheck, ...]:
        return tuple(s for s in self.shards if s.status != "ok")

    def mtp_layers_found(self) -> frozenset[int]:
        # The substring test first: a MoE checkpoint has ~10^5 tensor names and few are MTP ones.
        return frozenset(
            int(m.group(1)) for n in self.tensor_names if "mtp.layers." in n and (m := _MTP_TENSOR.search(n))
        )


def check_weights(folder: Path) -> WeightsCheck:
    """Check every shard named by the index (or every top-level .safetensors file without one)."""
    index_path = folder / INDEX_NAME
    if index_path.exists():
        return _check_indexed(folder, index_path)
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    shards = [_check_shard(folder / name, expected_tensors=()) for name in files]
    names = _names_from_headers(folder, shards)
    return WeightsCheck(tuple(s for s, _, _ in shards), _weight_bytes(shards), names, None, _qkv_shapes(shards))


def _check_indexed(folder: Path, index_path: Path) -> WeightsCheck:
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
        if not isinstance(weight_map, dict):
            raise TypeError("weight_map is not an object")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        return WeightsCheck((), 0, frozenset(), f"{INDEX_NAME} cannot be used ({exc})")
    by_shard: dict[str, list[str]] = {}
    for tensor, shard in weight_map.items():
        by_shard.setdefault(str(shard), []).append(tensor)
    shards = [_check_shard(folder / name, tuple(tensors)) for name, tensors in sorted(by_shard.items())]
    declared_total = (index.get("metadata") or {}).get("total_size")
    weight_bytes = _weight_bytes(shards)
    if any(s.status != "ok" for s, _, _ in shards) and isinstance(declared_total, int):
        weight_bytes = declared_total  # the index's figure is the best guess while shards are broken
    return WeightsCheck(tuple(s for s, _, _ in shards), weight_bytes, frozenset(weight_map), None, _qkv_shapes(shards))


_Checked = tuple[ShardCheck, int, dict[str, tuple[int, ...]]]


def _check_shard(path: Path, expected_tensors: tuple[str, ...]) -> _Checked:
    """The check, the shard's tensor-data bytes (0 when unknown) and its fused qkv_proj shapes."""
    checked = _check_header(path, expected_tensors)
    return checked[0], checked[1], checked[2].qkv_shapes if checked[2] else {}


def _check_header(path: Path, expected_tensors: tuple[str, ...]) -> tuple[ShardCheck, int, ShardHeader | None]:
    name = path.name
    if not path.is_file():
        return ShardCheck(name, "missing", None, None, "the file is not in the folder"), 0, None
    size = path.stat().st_size
    try:
        header = read_shard_header(path)
    except ShardHeaderError as exc:
        return ShardCheck(name, "unreadable", size, None, exc.reason), 0, None
    expected = header.expected_size
    if size < expected:
        detail = f"only {size} of {expected} bytes are there (the copy or download was cut short)"
        return ShardCheck(name, "truncated", size, expected, detail), header.data_bytes, header
    if size > expected:
        detail = f"{size - expected} bytes more than its header describes (the file is damaged)"
        return ShardCheck(name, "oversized", size, expected, detail), header.data_bytes, header
    in_shard = set(header.tensor_names)
    absent = [t for t in expected_tensors if t not in in_shard]
    if absent:
        detail = f"{len(absent)} tensors the index puts here are not in it, e.g. {absent[0]}"
        return ShardCheck(name, "mismatch", size, expected, detail), header.data_bytes, header
    return ShardCheck(name, "ok", size, expected), header.data_bytes, header


def _weight_bytes(shards: list[_Checked]) -> int:
    return sum(data for _, data, _ in shards)


def _qkv_shapes(shards: list[_Checked]) -> dict[str, tuple[int, ...]]:
    return {name: shape for _, _, shapes in shards for name, shape in shapes.items()}


def _names_from_headers(folder: Path, shards: list[_Checked]) -> frozenset[str]:
    names: set[str] = set()
    for check, _, _ in shards:
        if check.status in ("ok", "truncated", "oversized"):
            names.update(read_shard_header(folder / check.name).tensor_names)
    return frozenset(names)
