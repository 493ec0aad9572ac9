"""The result of checking a model folder: what works, what is missing, and what that costs the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from mimo_desktop.models.model_config import ModelConfig, tensor_parallel_sizes
from mimo_desktop.models.units import format_bytes
from mimo_desktop.models.weights import ShardCheck


class Feature(str, Enum):
    """What a user can do with a model; a problem takes some of these away."""

    CHAT = "chat"
    IMAGES = "images"
    VIDEO = "video"
    AUDIO = "audio"
    MTP = "mtp"  # speculative decoding with the model's multi-token-prediction layers: faster answers

    @property
    def words(self) -> str:
        return _FEATURE_WORDS[self]


_FEATURE_WORDS = {
    Feature.CHAT: "chat",
    Feature.IMAGES: "images",
    Feature.VIDEO: "video",
    Feature.AUDIO: "audio input",
    Feature.MTP: "MTP speculative decoding",
}


@dataclass(frozen=True)
class Problem:
    """Something wrong with the folder, in plain words, and what it disables."""

    message: str
    disables: frozenset[Feature]
    blocks_start: bool = False  # the engine would fail to start: nothing works

    def consequence(self) -> str:
        if self.blocks_start:
            return "the model cannot start"
        return "no " + " and no ".join(f.words for f in sorted(self.disables, key=_order))


@dataclass(frozen=True)
class ModelFolderReport:
    path: Path
    config: ModelConfig | None
    shards: tuple[ShardCheck, ...]
    weight_bytes: int
    mtp_layers_found: frozenset[int]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = field(default=())  # facts that are not faults ("text-only model")

    @property
    def can_start(self) -> bool:
        return not any(p.blocks_start for p in self.problems)

    @property
    def features(self) -> frozenset[Feature]:
        """What works with this folder as it is."""
        if not self.can_start or self.config is None:
            return frozenset()
        offered = {Feature.CHAT, Feature.MTP}
        if self.config.kind == "omni":
            offered |= {Feature.IMAGES, Feature.VIDEO}
            if self.config.has_audio_encoder:
                offered.add(Feature.AUDIO)
        for problem in self.problems:
            offered -= problem.disables
        if not self.mtp_layers_found:
            offered.discard(Feature.MTP)
        return frozenset(offered)

    def summary_lines(self) -> list[str]:
        """The report as a person reads it, one statement a line."""
        lines = [f"Model folder: {self.path}"]
        if self.config is not None:
            kind = "MiMo-V2 Omni (text, images, video" + (", audio)" if self.config.has_audio_encoder else ")")
            if self.config.kind == "text":
                kind = "MiMo-V2 text-only"
            lines.append(f"Architecture: {self.config.architecture} — {kind}")
            lines.append(f"Quantization: {self.config.quantization or 'none (' + _dtype(self.config) + ' weights)'}")
            lines.extend(_layout_lines(self.config))
        if self.shards:
            ok = sum(1 for s in self.shards if s.status == "ok")
            lines.append(f"Weights: {ok} of {len(self.shards)} shards complete, {format_bytes(self.weight_bytes)}")
        lines.extend(self.notes)
        for problem in self.problems:
            lines.append(f"PROBLEM: {problem.message} → {problem.consequence()}.")
        if self.can_start:
            usable = ", ".join(f.words for f in sorted(self.features, key=_order))
            lines.append(f"Ready: the model can start. Works: {usable}.")
        else:
            lines.append("Not ready: the model cannot start until the problems above are fixed.")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for `mimo-desktop model check --json` and for logs."""
        cfg = self.config
        return {
            "path": str(self.path),
            "can_start": self.can_start,
            "architecture": cfg.architecture if cfg else None,
            "kind": cfg.kind if cfg else None,
            "quantization": cfg.quantization if cfg else None,
            "tensor_parallel_sizes": list(tensor_parallel_sizes(cfg.shape)) if cfg and cfg.shape else [],
            "features": sorted(f.value for f in self.features),
            "weight_bytes": self.weight_bytes,
            "mtp_layers_found": sorted(self.mtp_layers_found),
            "shards": [
                {"name": s.name, "status": s.status, "size": s.size, "expected_size": s.expected_size,
                 "detail": s.detail}
                for s in self.shards
            ],
            "problems": [
                {"message": p.message, "disables": sorted(f.value for f in p.disables),
                 "blocks_start": p.blocks_start}
                for p in self.problems
            ],
            "notes": list(self.notes),
        }


def _layout_lines(config: ModelConfig) -> list[str]:
    shape = config.shape
    if shape is None:
        return []
    lines = []
    if shape.fused_qkv_chunks and shape.fp8_block:
        lines.append(f"Layout: the official MiMo-V2.5 FP8 one (qkv_proj fused and pre-sharded in "
                     f"{shape.fused_qkv_chunks} chunks, which vLLM 0.33.0 re-shards for any size below)")
    sizes = tensor_parallel_sizes(shape)
    if sizes:
        if len(sizes) == 1:
            lines.append("Tensor parallel: vLLM 0.33.0 can run it on 1 GPU only (no other size divides it)")
        else:
            words = ", ".join(str(s) for s in sizes[:-1]) + " or " + str(sizes[-1])
            lines.append(f"Tensor parallel: vLLM 0.33.0 can split it over {words} GPUs")
    return lines


def _order(feature: Feature) -> int:
    return list(Feature).index(feature)


def _dtype(config: ModelConfig) -> str:
    return config.shape.dtype if config.shape else "unquantized"
