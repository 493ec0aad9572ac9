"""The official MiMo-V2.5 FP8 checkpoint layout, small and importable (torch only, no vLLM import).

``to_official_fp8(state, config)`` turns a BF16/FP32 state dict with the hub names and separate
``q_proj`` / ``k_proj`` / ``v_proj`` (layout a) into the tensors the official FP8 checkpoint stores
(layout b); ``from_official_fp8`` dequantizes and de-interleaves them back, the reference the CPU
guard and the checkpoint script compare vLLM against. ``config_keys`` gives the config.json keys that
go with it.

Traits copied, and where from:
- Fused ``self_attn.qkv_proj`` pre-sharded into ``num_key_value_heads`` (4) chunks of ``[Q_c | K_c | V_c]``,
  the chunk count taken from the *global* layers' KV heads for every layer, so a sliding-window layer
  (8 KV heads) carries two KV heads per chunk: vLLM 0.33 ``mimo_v2.py`` ``_shard_fp8_qkv_proj`` docstring
  (``ckpt_tp=self.config.num_key_value_heads``; "a MiMo-V2.5 SWA layer has 8 KV heads over 4 chunks ...
  3712 rows = 29 blocks while a GA layer has 4 KV heads over 4 chunks (3392 rows each)"); sglang-jax PR
  #1164 ("per-TP-shard block-wise FP8 quantization (TP=4) ... scales can span K/V boundaries").
- Each chunk quantized on its own with 128×128 blocks, so its scale rows are tiled per chunk
  (``ceil(rows_per_chunk / 128)`` each: 4 × 27 = 108 for a global layer, 4 × 29 = 116 for an SWA layer) and
  a block straddles the K/V boundary (192 K + 128 V rows): ``_shard_fp8_qkv_proj`` (``per_chunk_scales``),
  ``mimo_v2_mtp.py`` ("they are 4 x 29 = 116 rows for MiMo-V2.5"); the MiMo-V2.5-Pro tensor listing
  (``qkv_proj.weight`` [27136, 6144] e4m3 with ``weight_scale_inv`` [216, 48] float32 = 8 chunks × 27).
- The fused layout is announced by ``"attention_projection_layout": "fused_qkv"`` (vLLM's
  ``MiMoV2FlashDecoderLayer`` only expects the padded per-chunk K/V rows when it is set together with a
  block-quantized ``quantization_config``).
- e4m3 weights with float32 ``weight_scale_inv`` = amax / 448 per 128×128 block (dequantized = weight ×
  scale); partial blocks at the edges get their own scale: vLLM's block FP8 linear (``Fp8Config``
  ``weight_block_size``) and ``scaled_quantize``.
- Quantized (e4m3 + ``weight_scale_inv``): attention ``qkv_proj``, the dense and MoE expert MLPs
  (``gate_proj`` / ``up_proj`` / ``down_proj``) of the decoder and the MTP layers, the MTP layers' own fused
  ``qkv_proj`` (SWA geometry, same 4 chunks). Kept: ``self_attn.o_proj`` BF16 (listed in
  ``quantization_config.ignored_layers``; vLLM builds the MTP o_proj unquantized), embeddings, ``lm_head``,
  every norm, ``attention_sink_bias``, MTP ``eh_proj`` BF16; router ``mlp.gate.weight`` and
  ``e_score_correction_bias`` float32. Sources: the MiMo-V2.5-Pro tensor listing (same family, public
  report of its safetensors headers), the NxDI MiMo-V2.5 contrib README (``o_proj`` in ``ignored_layers``;
  ``modules_to_not_convert`` embed_tokens, lm_head, norm, router, o_proj), vLLM 0.33 ``mimo_v2_mtp.py``
  (``eh_proj`` a ``ReplicatedLinear`` without quant_config) and ``mimo_v2.py`` (o_proj quant_config None
  under ``mtp.layers``; ``GateLinear`` in ``moe_router_dtype``, float32 by default).
- ``quantization_config``: ``{"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
  "weight_block_size": [128, 128], "ignored_layers": [every decoder layer's self_attn.o_proj]}`` as in the
  MiMo-V2.5(-Pro) config.json (the Pro list ends with a ``model.decoder.self_attn.o_proj`` of its training
  framework, which names no tensor; left out).
Not copied: the real sizes (hidden 4096, 48 layers, 64 heads, 256 experts); the vision tower and audio
encoder, which the real checkpoint keeps in BF16 (they pass through ``to_official_fp8`` unchanged).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import torch

BLOCK = 128
FP8_DTYPE = torch.float8_e4m3fn
FP8_MAX = float(torch.finfo(FP8_DTYPE).max)  # 448

LayerKind = Literal["full", "swa"]

_QKV = re.compile(r"^(model\.(?:mtp\.)?layers\.\d+\.self_attn)\.([qkv])_proj\.weight$")
_QUANTIZED_LINEAR = re.compile(
    r"^model\.(?:mtp\.)?layers\.\d+\.mlp\.(?:experts\.\d+\.)?(?:gate_proj|up_proj|down_proj)\.weight$"
)
_FLOAT32 = re.compile(r"^model\.layers\.\d+\.mlp\.gate\.(?:weight|e_score_correction_bias)$")


@dataclass(frozen=True)
class QKVGeometry:
    """One attention layer's heads and how its fused ``qkv_proj`` is cut into checkpoint chunks."""

    num_heads: int
    num_kv_heads: int
    chunks: int  # config.num_key_value_heads: the TP size the checkpoint was pre-sharded for
    head_dim: int = 192
    v_head_dim: int = 128

    def __post_init__(self) -> None:
        if self.chunks <= 0 or self.num_heads % self.chunks or self.num_kv_heads % self.chunks:
            raise ValueError(f"{self.chunks} chunks do not divide {self.num_heads} heads / "
                             f"{self.num_kv_heads} KV heads")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"{self.num_heads} heads cannot share {self.num_kv_heads} KV heads evenly")

    @property
    def q_heads_per_chunk(self) -> int:
        return self.num_heads // self.chunks

    @property
    def kv_heads_per_chunk(self) -> int:
        return self.num_kv_heads // self.chunks

    @property
    def q_rows(self) -> int:  # per chunk
        return self.q_heads_per_chunk * self.head_dim

    @property
    def k_rows(self) -> int:
        return self.kv_heads_per_chunk * self.head_dim

    @property
    def v_rows(self) -> int:
        return self.kv_heads_per_chunk * self.v_head_dim

    @property
    def rows_per_chunk(self) -> int:
        return self.q_rows + self.k_rows + self.v_rows

    @property
    def scale_rows_per_chunk(self) -> int:
        return math.ceil(self.rows_per_chunk / BLOCK)

    @property
    def total_rows(self) -> int:
        return self.chunks * self.rows_per_chunk


def layer_kinds(config: dict[str, Any]) -> list[LayerKind]:
    """``hybrid_layer_pattern[i] == 1`` is a sliding-window layer, 0 a global one (vLLM's reading)."""
    pattern = config.get("hybrid_layer_pattern") or [0] * int(config["num_hidden_layers"])
    return ["swa" if p == 1 else "full" for p in pattern[: int(config["num_hidden_layers"])]]


def geometry(config: dict[str, Any], kind: LayerKind) -> QKVGeometry:
    """The geometry of a global (``full``) or sliding-window (``swa``) layer; MTP layers are ``swa``."""
    chunks = int(config["num_key_value_heads"])
    if kind == "full":
        return QKVGeometry(int(config["num_attention_heads"]), chunks, chunks,
                           int(config.get("head_dim", 192)), int(config.get("v_head_dim", 128)))
    return QKVGeometry(int(config["swa_num_attention_heads"]), int(config["swa_num_key_value_heads"]), chunks,
                       int(config.get("swa_head_dim", 192)), int(config.get("swa_v_head_dim", 128)))


def quantization_config(num_hidden_layers: int) -> dict[str, Any]:
    return {
        "activation_scheme": "dynamic",
        "fmt": "e4m3",
        "quant_method": "fp8",
        "weight_block_size": [BLOCK, BLOCK],
        "ignored_layers": [f"model.layers.{i}.self_attn.o_proj" for i in range(num_hidden_layers)],
    }


def config_keys(config: dict[str, Any]) -> dict[str, Any]:
    """Keys to merge into a layout-(a) config.json to describe layout (b)."""
    return {
        "attention_projection_layout": "fused_qkv",
        "quantization_config": quantization_config(int(config["num_hidden_layers"])),
    }


# --- 128×128 block quantization ---------------------------------------------------------------

def _pad_to_blocks(w: torch.Tensor) -> torch.Tensor:
    rows, cols = w.shape
    return torch.nn.functional.pad(w, (0, -cols % BLOCK, 0, -rows % BLOCK))


def block_quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """e4m3 weight and float32 ``weight_scale_inv`` [ceil(rows/128), ceil(cols/128)] with w ≈ q × s.

    Edge blocks are padded with zeros, which cannot raise a block's amax, and the padding is cut off.
    """
    if w.ndim != 2:
        raise ValueError(f"a linear weight is 2-D, not {tuple(w.shape)}")
    rows, cols = w.shape
    padded = _pad_to_blocks(w.to(torch.float32))
    br, bc = padded.shape[0] // BLOCK, padded.shape[1] // BLOCK
    blocks = padded.reshape(br, BLOCK, bc, BLOCK)
    amax = blocks.abs().amax(dim=(1, 3)).clamp(min=1e-12)
    scale = amax / FP8_MAX
    q = (blocks / scale[:, None, :, None]).clamp(-FP8_MAX, FP8_MAX).reshape(padded.shape).to(FP8_DTYPE)
    return q[:rows, :cols].contiguous(), scale.to(torch.float32)


def block_dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """float32 weight from e4m3 ``q`` and its ``weight_scale_inv`` grid (one scale per 128×128 block)."""
    rows, cols = q.shape
    if scale.shape != (math.ceil(rows / BLOCK), math.ceil(cols / BLOCK)):
        raise ValueError(f"scale {tuple(scale.shape)} is not the 128×128 grid of a {rows}×{cols} weight")
    full = scale.repeat_interleave(BLOCK, 0)[:rows].repeat_interleave(BLOCK, 1)[:, :cols]
    return q.to(torch.float32) * full


# --- the fused, pre-sharded qkv_proj ------------------------------------------------------------

def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, geo: QKVGeometry) -> None:
    want = {"q": geo.num_heads * geo.head_dim, "k": geo.num_kv_heads * geo.head_dim,
            "v": geo.num_kv_heads * geo.v_head_dim}
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim != 2 or t.shape[0] != want[name]:
            raise ValueError(f"{name}_proj has shape {tuple(t.shape)}; this layer needs {want[name]} rows")


def fuse_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, geo: QKVGeometry) -> torch.Tensor:
    """``[Q_0 | K_0 | V_0 | Q_1 | K_1 | V_1 | ...]``: chunk c holds its Q heads and the KV heads they use."""
    _check_qkv(q, k, v, geo)
    parts = []
    for c in range(geo.chunks):
        parts += [q[c * geo.q_rows:(c + 1) * geo.q_rows], k[c * geo.k_rows:(c + 1) * geo.k_rows],
                  v[c * geo.v_rows:(c + 1) * geo.v_rows]]
    return torch.cat(parts)


def deinterleave_qkv(fused: torch.Tensor, geo: QKVGeometry) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The reference split of a fused weight back into whole Q, K and V (heads in global order)."""
    if fused.shape[0] != geo.total_rows:
        raise ValueError(f"fused qkv_proj has {fused.shape[0]} rows, not {geo.chunks} chunks of {geo.rows_per_chunk}")
    chunks = fused.reshape(geo.chunks, geo.rows_per_chunk, -1)
    q, k, v = chunks.split([geo.q_rows, geo.k_rows, geo.v_rows], dim=1)
    return q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1)


def quantize_fused_qkv(fused: torch.Tensor, geo: QKVGeometry) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize each chunk on its own: weight [total_rows, in], scales [chunks × ceil(rows/128), ceil(in/128)]."""
    pairs = [block_quantize(chunk) for chunk in fused.split(geo.rows_per_chunk)]
    return torch.cat([w.view(torch.uint8) for w, _ in pairs]).view(FP8_DTYPE), torch.cat([s for _, s in pairs])


def dequantize_fused_qkv(w: torch.Tensor, s: torch.Tensor, geo: QKVGeometry) -> torch.Tensor:
    if s.shape[0] != geo.chunks * geo.scale_rows_per_chunk:
        raise ValueError(f"qkv_proj scale has {s.shape[0]} rows, not {geo.chunks} × {geo.scale_rows_per_chunk}")
    chunks = zip(w.view(torch.uint8).split(geo.rows_per_chunk), s.split(geo.scale_rows_per_chunk))
    return torch.cat([block_dequantize(wc.view(FP8_DTYPE), sc) for wc, sc in chunks])


def rank_heads(geo: QKVGeometry, tp_rank: int, tp_size: int) -> tuple[list[int], list[int]]:
    """The Q heads rank ``tp_rank`` of ``tp_size`` owns, and the KV heads those Q heads attend to.

    Q heads are split evenly; Q head h uses KV head h // (heads / KV heads) (grouped-query attention), so a
    rank holds exactly the KV heads its Q heads read; with more ranks than KV heads it holds one replica.
    """
    if geo.num_heads % tp_size:
        raise ValueError(f"TP {tp_size} does not divide {geo.num_heads} heads")
    per_rank = geo.num_heads // tp_size
    q_heads = list(range(tp_rank * per_rank, (tp_rank + 1) * per_rank))
    group = geo.num_heads // geo.num_kv_heads
    kv_heads = sorted({h // group for h in q_heads})
    return q_heads, kv_heads


def rank_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, geo: QKVGeometry, tp_rank: int,
                   tp_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows of Q, K and V that rank ``tp_rank`` must compute, from whole (de-interleaved) weights."""
    q_heads, kv_heads = rank_heads(geo, tp_rank, tp_size)

    def rows(t: torch.Tensor, heads: list[int], dim: int) -> torch.Tensor:
        return torch.cat([t[h * dim:(h + 1) * dim] for h in heads])

    return rows(q, q_heads, geo.head_dim), rows(k, kv_heads, geo.head_dim), rows(v, kv_heads, geo.v_head_dim)


# --- whole checkpoints ----------------------------------------------------------------------------

def _geometry_for_prefix(prefix: str, config: dict[str, Any], kinds: list[LayerKind]) -> QKVGeometry:
    if ".mtp." in prefix:
        return geometry(config, "swa")  # vLLM's MTP layer uses the SWA attention configuration
    return geometry(config, kinds[int(prefix.split(".")[2])])


def to_official_fp8(state: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Layout (a) → layout (b). ``state`` uses the hub names with separate q/k/v projections."""
    kinds = layer_kinds(config)
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        if m := _QKV.match(name):
            qkv.setdefault(m.group(1), {})[m.group(2)] = tensor
        elif _QUANTIZED_LINEAR.match(name):
            out[name], out[name + "_scale_inv"] = block_quantize(tensor)
        elif _FLOAT32.match(name):
            out[name] = tensor.to(torch.float32)
        else:
            out[name] = tensor.to(torch.bfloat16) if tensor.is_floating_point() else tensor
    for prefix, parts in qkv.items():
        if set(parts) != {"q", "k", "v"}:
            raise ValueError(f"{prefix} has only {sorted(parts)} of q/k/v_proj")
        geo = _geometry_for_prefix(prefix, config, kinds)
        w, s = quantize_fused_qkv(fuse_qkv(parts["q"], parts["k"], parts["v"], geo), geo)
        out[f"{prefix}.qkv_proj.weight"], out[f"{prefix}.qkv_proj.weight_scale_inv"] = w, s
    return dict(sorted(out.items()))


def from_official_fp8(state: dict[str, torch.Tensor], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Layout (b) → float32 layout (a): dequantize, and split every fused qkv_proj back into q/k/v."""
    kinds = layer_kinds(config)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if name.endswith(".weight_scale_inv"):
            continue
        scale = state.get(name + "_scale_inv")
        if name.endswith(".self_attn.qkv_proj.weight") and scale is not None:
            prefix = name[: -len(".qkv_proj.weight")]
            geo = _geometry_for_prefix(prefix, config, kinds)
            q, k, v = deinterleave_qkv(dequantize_fused_qkv(tensor, scale, geo), geo)
            out[f"{prefix}.q_proj.weight"], out[f"{prefix}.k_proj.weight"], out[f"{prefix}.v_proj.weight"] = q, k, v
        elif scale is not None:
            out[name] = block_dequantize(tensor, scale)
        else:
            out[name] = tensor.to(torch.float32) if tensor.is_floating_point() else tensor
    return dict(sorted(out.items()))
