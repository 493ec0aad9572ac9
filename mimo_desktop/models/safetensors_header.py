"""Read a safetensors file's header to learn its exact size without reading its tensors.

The format (https://huggingface.co/docs/safetensors): 8 bytes little-endian
unsigned header length N, then N bytes of UTF-8 JSON mapping each tensor name
to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative to
the byte buffer that follows the header), plus an optional ``__metadata__``.
So the complete file is ``8 + N + max(end)`` bytes: a shard cut short by an
interrupted copy is caught from its first few kilobytes, even for a 5 GB shard.

We parse it ourselves rather than through ``safetensors.safe_open``: that
memory-maps the file and reports a truncated one only as a generic error,
without the size it expected.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from mimo_desktop.models.errors import ShardHeaderError

# safetensors' own limit on the JSON header (100 MB); anything larger is garbage.
_MAX_HEADER_BYTES = 100_000_000


@dataclass(frozen=True)
class ShardHeader:
    """What a shard's header promises."""

    path: Path
    tensor_names: tuple[str, ...]
    expected_size: int  # bytes the complete file has
    data_bytes: int  # bytes of tensor data (the weights proper)
    qkv_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # fused attention projections only


def read_shard_header(path: Path) -> ShardHeader:
    """Parse the header of the safetensors file at ``path``.

    Raises ShardHeaderError when the file is not a readable safetensors file.
    """
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise ShardHeaderError(path, "it is shorter than a safetensors header (8 bytes)")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > _MAX_HEADER_BYTES:
                raise ShardHeaderError(path, f"its header claims {header_len} bytes, so it is not safetensors")
            raw = f.read(header_len)
    except OSError as exc:
        raise ShardHeaderError(path, f"it cannot be read ({exc.strerror or exc})") from exc
    if len(raw) < header_len:
        raise ShardHeaderError(path, "it ends inside its header (the file is cut short)")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardHeaderError(path, f"its header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ShardHeaderError(path, "its header is not a JSON object")
    return _summarise(path, header_len, header)


def _summarise(path: Path, header_len: int, header: dict) -> ShardHeader:
    names: list[str] = []
    qkv_shapes: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ShardHeaderError(path, f"tensor {name!r} has no valid data_offsets")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise ShardHeaderError(path, f"tensor {name!r} has offsets {offsets} that run backwards")
        data_end = max(data_end, end)
        names.append(name)
        if ".qkv_proj." in name and isinstance(info.get("shape"), list):
            qkv_shapes[name] = tuple(int(d) for d in info["shape"])
    return ShardHeader(
        path=path,
        tensor_names=tuple(names),
        expected_size=8 + header_len + data_end,
        data_bytes=data_end,
        qkv_shapes=qkv_shapes,
    )
