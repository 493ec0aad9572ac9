"""What a MiMo-V2 ``config.json`` says about the model, read the way vLLM 0.33.0 reads it.

vLLM's registry maps ``MiMoV2ForCausalLM`` / ``MiMoV2FlashForCausalLM`` to the text model and
``MiMoV2OmniForCausalLM`` to the omni-modal one; its ``MimoV2ModelArchConfigConvertor`` also turns
any ``mimo_v2`` config with a ``vision_config`` into the omni model. We mirror those rules so the
folder check says what the engine will actually build, and which tensor-parallel sizes vLLM can
shard it over (``tp_refusal``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mimo_desktop.models.errors import ModelFolderError

ModelKind = Literal["text", "omni"]

TEXT_ARCHITECTURES = frozenset({"MiMoV2ForCausalLM", "MiMoV2FlashForCausalLM"})
OMNI_ARCHITECTURE = "MiMoV2OmniForCausalLM"

# Bytes per element of the dtypes a MiMo checkpoint or its KV cache may use.
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4, "fp8": 1, "float8_e4m3fn": 1}
TP_CANDIDATES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class AttentionShape:
    """One kind of attention layer: what it stores per token in the KV cache."""

    layers: int
    kv_heads: int
    k_head_dim: int
    v_head_dim: int
    window: int | None  # sliding window in tokens; None for full attention


@dataclass(frozen=True)
class ModelShape:
    """The numbers the fit estimate needs."""

    attention: tuple[AttentionShape, ...]
    num_attention_heads: int
    swa_num_attention_heads: int | None
    n_routed_experts: int | None
    max_context: int
    mtp_layers: int  # declared by num_nextn_predict_layers
    dtype: str
    intermediate_size: int | None = None  # the dense MLP's
    moe_intermediate_size: int | None = None  # each routed expert's
    fp8_block: int | None = None  # 128 for the official FP8 checkpoint's 128×128 weight blocks
    fused_qkv_chunks: int = 0  # official layout: qkv_proj pre-sharded into num_key_value_heads chunks
    sliding_window_layers: frozenset[int] = frozenset()
    vision_heads: tuple[int, int] | None = None  # the vision tower's (attention heads, KV heads)


@dataclass(frozen=True)
class ModelConfig:
    """The facts of ``config.json`` the app uses."""

    architecture: str  # what vLLM will build (after the omni rule)
    kind: ModelKind
    model_type: str | None
    has_vision: bool
    has_audio_encoder: bool
    quantization: str | None  # plain words, None when the weights are not quantized
    shape: ModelShape | None  # None when the attention numbers are missing (cannot estimate fit)
    raw: dict[str, Any]


class ConfigError(ModelFolderError):
    """config.json is missing, unreadable, or not a MiMo-V2 config."""


def load_config(path: Path) -> ModelConfig:
    """Read and interpret ``path`` (a config.json). Raises ConfigError with a plain reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config.json is missing, so the model cannot be identified.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config.json cannot be read: {exc}.") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config.json is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file is damaged or was cut short."
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError("config.json does not hold a JSON object.")
    return interpret_config(raw)


def interpret_config(raw: dict[str, Any]) -> ModelConfig:
    architectures = raw.get("architectures") or []
    declared = architectures[0] if isinstance(architectures, list) and architectures else None
    has_vision = bool(raw.get("vision_config"))
    if declared == OMNI_ARCHITECTURE or (declared in TEXT_ARCHITECTURES and has_vision):
        architecture, kind = OMNI_ARCHITECTURE, "omni"
    elif declared in TEXT_ARCHITECTURES:
        architecture, kind = declared, "text"
    else:
        known = ", ".join(sorted(TEXT_ARCHITECTURES | {OMNI_ARCHITECTURE}))
        raise ConfigError(
            f"config.json declares architecture {declared!r}, which is not a MiMo-V2 model "
            f"(this app runs {known})."
        )
    return ModelConfig(
        architecture=architecture,
        kind=kind,
        model_type=raw.get("model_type"),
        has_vision=has_vision,
        has_audio_encoder=kind == "omni" and bool(raw.get("audio_config")),
        quantization=describe_quantization(raw.get("quantization_config")),
        shape=_shape(_text_part(raw), raw.get("quantization_config"), raw.get("vision_config")),
        raw=raw,
    )


def describe_quantization(qcfg: Any) -> str | None:
    """``{"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}`` -> ``"fp8 (e4m3, 128×128 blocks)"``."""
    if not isinstance(qcfg, dict) or not qcfg:
        return None
    method = str(qcfg.get("quant_method") or "unknown method")
    details = []
    if qcfg.get("fmt"):
        details.append(str(qcfg["fmt"]))
    block = qcfg.get("weight_block_size")
    if isinstance(block, list) and block:
        details.append("×".join(str(b) for b in block) + " blocks")
    if qcfg.get("bits"):
        details.append(f"{qcfg['bits']}-bit")
    return f"{method} ({', '.join(details)})" if details else method


def _text_part(raw: dict[str, Any]) -> dict[str, Any]:
    # vLLM reads the language model's numbers through get_text_config(): a nested text_config when
    # there is one, else the top level (how MiMo-V2.5 Omni checkpoints store them).
    nested = raw.get("text_config")
    return nested if isinstance(nested, dict) else raw


def _fp8_block(qcfg: Any) -> int | None:
    if not isinstance(qcfg, dict) or "fp8" not in str(qcfg.get("quant_method", "")):
        return None
    block = qcfg.get("weight_block_size")
    return int(block[0]) if isinstance(block, list) and block else None


def _vision_heads(vision: Any) -> tuple[int, int] | None:
    if not isinstance(vision, dict) or not vision.get("num_heads"):
        return None
    heads = int(vision["num_heads"])
    return heads, int(vision.get("num_key_value_heads") or heads)


def _shape(cfg: dict[str, Any], qcfg: Any = None, vision: Any = None) -> ModelShape | None:
    try:
        layers = int(cfg["num_hidden_layers"])
        full_heads = int(cfg["num_attention_heads"])
        full_kv = int(cfg.get("num_key_value_heads", full_heads))
        head_dim = int(cfg.get("head_dim") or int(cfg["hidden_size"]) // full_heads)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    v_head_dim = int(cfg.get("v_head_dim") or head_dim)
    pattern = cfg.get("hybrid_layer_pattern")
    # hybrid_layer_pattern[i] == 1 marks a sliding-window layer (vLLM's MiMoV2FlashDecoderLayer.is_swa).
    in_pattern = enumerate(pattern[:layers]) if isinstance(pattern, list) else ()
    swa_ids = frozenset(i for i, p in in_pattern if p == 1)
    swa_layers = len(swa_ids)
    attention = [AttentionShape(layers - swa_layers, full_kv, head_dim, v_head_dim, None)]
    if swa_layers:
        window = int(cfg.get("sliding_window_size") or cfg.get("sliding_window") or 0) or None
        attention.append(
            AttentionShape(
                layers=swa_layers,
                kv_heads=int(cfg.get("swa_num_key_value_heads") or full_kv),
                k_head_dim=int(cfg.get("swa_head_dim") or head_dim),
                v_head_dim=int(cfg.get("swa_v_head_dim") or cfg.get("swa_head_dim") or v_head_dim),
                window=window,
            )
        )
    return ModelShape(
        attention=tuple(a for a in attention if a.layers > 0),
        num_attention_heads=full_heads,
        swa_num_attention_heads=int(cfg["swa_num_attention_heads"]) if cfg.get("swa_num_attention_heads") else None,
        n_routed_experts=int(cfg["n_routed_experts"]) if cfg.get("n_routed_experts") else None,
        max_context=int(cfg.get("max_position_embeddings") or 0),
        mtp_layers=int(cfg.get("num_nextn_predict_layers") or 0),
        dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"),
        intermediate_size=int(cfg["intermediate_size"]) if cfg.get("intermediate_size") else None,
        moe_intermediate_size=int(cfg["moe_intermediate_size"]) if cfg.get("moe_intermediate_size") else None,
        fp8_block=_fp8_block(qcfg if qcfg is not None else cfg.get("quantization_config")),
        fused_qkv_chunks=full_kv if cfg.get("attention_projection_layout") == "fused_qkv" else 0,
        sliding_window_layers=swa_ids,
        vision_heads=_vision_heads(vision),
    )


def tensor_parallel_sizes(shape: ModelShape) -> tuple[int, ...]:
    """The TP sizes vLLM 0.33.0 can shard this model over."""
    return tuple(tp for tp in TP_CANDIDATES if tp_refusal(shape, tp) is None)


def tp_refusal(shape: ModelShape, tp: int) -> str | None:
    """Why vLLM 0.33.0 cannot shard this model over ``tp`` GPUs (tensor parallel), or None when it can.

    The rules are vLLM's: attention heads split evenly; KV heads split evenly, or, with more ranks than
    KV heads, are replicated, which needs a whole number of ranks per head (``QKVParallelLinear``; for the
    official fused ``qkv_proj`` ``_shard_fp8_qkv_proj`` asserts the same); MoE needs an expert per rank at
    least; and 128×128 FP8 blocks may not be cut: a rank's slice of the row-parallel MLP weights (the
    dense ``down_proj``, every expert's gate/up/down) must be whole blocks (``validate_fp8_block_shape``,
    ``validate_fp8_block_shape_moe``). Attention ``o_proj`` is BF16 in the official checkpoint, so it
    adds no block rule. The vision tower splits its heads and KV heads over the GPUs with no replicas
    (``MiMoVisionAttention`` divides both by the TP size), so an omni model's TP size must divide them too.
    """
    heads = [(shape.num_attention_heads, "attention heads")]
    if shape.swa_num_attention_heads:
        heads.append((shape.swa_num_attention_heads, "sliding-window attention heads"))
    for count, what in heads:
        if count % tp:
            return f"{tp} does not divide the {count} {what}"
    for kind in shape.attention:
        if kind.kv_heads % tp and tp % kind.kv_heads:
            layers = "sliding-window" if kind.window else "full-attention"
            return (f"{tp} GPUs can neither split nor evenly replicate the {kind.kv_heads} KV heads of the "
                    f"{layers} layers")
    if shape.vision_heads:
        for count, what in zip(shape.vision_heads, ("attention heads", "KV heads")):
            if count % tp:
                return f"{tp} does not divide the vision tower's {count} {what} (vLLM splits them without replicas)"
    if shape.n_routed_experts and tp > shape.n_routed_experts:
        return f"{tp} is more than the {shape.n_routed_experts} experts"
    if shape.fp8_block:
        for size, what in ((shape.moe_intermediate_size, "each expert's"), (shape.intermediate_size, "the dense")):
            if size and (size % tp or size // tp % shape.fp8_block):
                return (f"{tp} GPUs would cut {what} {size}-wide MLP into {size / tp:g}-wide slices, not whole "
                        f"{shape.fp8_block}×{shape.fp8_block} FP8 blocks")
    return None
