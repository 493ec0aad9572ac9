"""CPU guard for the official MiMo-V2.5 FP8 layout: vLLM's own fused-QKV loaders give every rank the right
Q, K and V at TP 1, 2, 4 and 8.

The layers have the real model's attention rows (64 heads, head_dim 192 / v_head_dim 128, 4 KV heads on a
global layer and 8 on a sliding-window one, the fused ``qkv_proj`` in ``num_key_value_heads`` = 4 chunks with
per-chunk 128×128 scales), built by ``tests/mimo_fp8.py``; only the hidden size is small (256), and the row
layout does not depend on it. Each rank's weights go through the loader vLLM runs for such a checkpoint:
``MiMoV2Model._try_load_fp8_qkv_proj`` for decoder layers, ``MiMoV2MTP.load_weights`` for MTP layers. Both call
``_shard_fp8_qkv_proj`` and copy into the rank's ``qkv_proj.weight`` / ``weight_scale_inv``. Those two
parameters live on a stand-in module shaped as vLLM's layer would allocate them on that rank, because
vLLM's real linear layers need a device config to be built (they refuse to construct on this CPU).
The loaded weight is then dequantized with the loaded scales and split the way the rank's forward splits
its output (``_split_qkv`` with the layer's ``kv_chunk_rows``). The reference is mimo_fp8's de-interleave
of the dequantized checkpoint, with the rows grouped-query attention assigns to the rank.

Run against another vLLM (``PYTHONPATH=<dir holding that vllm> python tests/engine/test_fp8_qkv_sharding.py``)
it prints one line per loader, layer and TP size and exits 1 if any rank is wrong: docs/models.md records
what vLLM 0.26.0 does.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for mimo_fp8 when run as a script
import mimo_fp8  # noqa: E402

# The real MiMo-V2.5 attention (config.json of XiaomiMiMo/MiMo-V2.5), with a small hidden size.
CONFIG = {
    "num_hidden_layers": 2, "hybrid_layer_pattern": [0, 1], "num_key_value_heads": 4,
    "num_attention_heads": 64, "head_dim": 192, "v_head_dim": 128,
    "swa_num_attention_heads": 64, "swa_num_key_value_heads": 8, "swa_head_dim": 192, "swa_v_head_dim": 128,
}
HIDDEN = 256
TP_SIZES = (1, 2, 4, 8)


def checkpoint_layer(kind: str, seed: int):
    """Whole q/k/v weights, the layer's FP8 tensors as the checkpoint stores them, and the dequantized reference."""
    geo = mimo_fp8.geometry(CONFIG, kind)
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(rows, HIDDEN, generator=gen) for rows in
               (geo.num_heads * geo.head_dim, geo.num_kv_heads * geo.head_dim, geo.num_kv_heads * geo.v_head_dim))
    w, s = mimo_fp8.quantize_fused_qkv(mimo_fp8.fuse_qkv(q, k, v, geo), geo)
    reference = mimo_fp8.deinterleave_qkv(mimo_fp8.dequantize_fused_qkv(w, s, geo), geo)
    return geo, w, s, reference


def _kv_chunk_rows(mimo_v2, geo, tp: int, fused_layer: bool) -> int:
    # MiMoV2Attention computes it only for decoder layers of a fused_qkv checkpoint (vLLM ≥ 0.31); MTP layers
    # and older vLLM always allocate a plain QKVParallelLinear.
    rows = getattr(mimo_v2, "_fused_qkv_kv_chunk_rows", None)
    if not fused_layer or rows is None:
        return 0
    return rows(geo.num_heads, geo.num_kv_heads, geo.head_dim, geo.v_head_dim, tp, geo.chunks)


def _rank_sizes(geo, tp: int, kv_chunk_rows: int) -> tuple[int, int, int, int]:
    """(rows of the rank's qkv_proj, q_size, k_size, v_size) as vLLM's MiMoV2Attention sets them."""
    heads, kv_heads = geo.num_heads // tp, max(1, geo.num_kv_heads // tp)
    q_size, k_size, v_size = heads * geo.head_dim, kv_heads * geo.head_dim, kv_heads * geo.v_head_dim
    if kv_chunk_rows:  # MergedColumnParallelLinear([heads × head_dim, chunks × kv_chunk_rows]) split over TP
        return q_size + geo.chunks * kv_chunk_rows // tp, q_size, k_size, v_size
    return q_size + k_size + v_size, q_size, k_size, v_size


def _attention_standin(geo, rows: int, kv_chunk_rows: int) -> torch.nn.Module:
    attn = torch.nn.Module()
    attn.total_num_heads, attn.total_num_kv_heads = geo.num_heads, geo.num_kv_heads
    attn.head_dim, attn.v_head_dim, attn.kv_chunk_rows = geo.head_dim, geo.v_head_dim, kv_chunk_rows
    attn.qkv_proj = torch.nn.Module()
    attn.qkv_proj.weight = torch.nn.Parameter(torch.empty(rows, HIDDEN, dtype=mimo_fp8.FP8_DTYPE),
                                              requires_grad=False)
    attn.qkv_proj.weight_scale_inv = torch.nn.Parameter(
        torch.empty(math.ceil(rows / mimo_fp8.BLOCK), math.ceil(HIDDEN / mimo_fp8.BLOCK)), requires_grad=False)
    return attn


def load_rank(loader: str, geo, w, s, tp: int, rank: int):
    """Run vLLM's loader for one rank; returns the loaded (weight, scale) and the rank's split sizes."""
    from vllm.model_executor.models import mimo_v2, mimo_v2_mtp

    kv_rows = _kv_chunk_rows(mimo_v2, geo, tp, fused_layer=loader == "decoder")
    rows, *sizes = _rank_sizes(geo, tp, kv_rows)
    root = torch.nn.Module()
    root.config = SimpleNamespace(num_key_value_heads=CONFIG["num_key_value_heads"])
    if loader == "decoder":
        root.layers = torch.nn.ModuleList([torch.nn.Module()])
        root.layers[0].self_attn = attn = _attention_standin(geo, rows, kv_rows)
        prefix = "layers.0.self_attn.qkv_proj"
        params, loaded, pending = dict(root.named_parameters(remove_duplicate=False)), set(), {}
        for kind, tensor in (("weight", w), ("weight_scale_inv", s)):
            assert mimo_v2.MiMoV2Model._try_load_fp8_qkv_proj(
                root, f"{prefix}.{kind}", tensor, pending, params, loaded, rank, tp)
    else:
        root.model = torch.nn.Module()
        root.model.mtp = torch.nn.Module()
        root.model.mtp.layers = torch.nn.ModuleDict({"0": torch.nn.Module()})
        root.model.mtp.layers["0"].self_attn = attn = _attention_standin(geo, rows, kv_rows)
        prefix = "model.mtp.layers.0.self_attn.qkv_proj"
        with mock.patch.object(mimo_v2_mtp, "get_tensor_model_parallel_rank", return_value=rank), \
                mock.patch.object(mimo_v2_mtp, "get_tensor_model_parallel_world_size", return_value=tp):
            mimo_v2_mtp.MiMoV2MTP.load_weights(root, [(f"{prefix}.weight", w), (f"{prefix}.weight_scale_inv", s)])
    return attn.qkv_proj.weight.data, attn.qkv_proj.weight_scale_inv.data, sizes, kv_rows


def rank_qkv(weight, scale, sizes, kv_rows):
    """Dequantize a rank's loaded weight and split it as that rank's forward splits its qkv output."""
    from vllm.model_executor.models import mimo_v2

    deq = mimo_fp8.block_dequantize(weight, scale)
    split = getattr(mimo_v2, "_split_qkv", None)
    parts = split(deq.T, *sizes, kv_rows) if split else deq.T.split(sizes, dim=-1)
    scale_rows = scale.repeat_interleave(mimo_fp8.BLOCK, 0)[: weight.shape[0]]
    scale_full = scale_rows.repeat_interleave(mimo_fp8.BLOCK, 1)[:, : weight.shape[1]]
    scales = split(scale_full.T, *sizes, kv_rows) if split else scale_full.T.split(sizes, dim=-1)
    return [p.T for p in parts], [p.T for p in scales]


def wrong_ranks(loader: str, kind: str, tp: int, exact: bool = False) -> list[str]:
    """One sentence per rank whose Q, K or V differ from the reference by more than one e4m3 rounding
    (``exact``: by anything at all)."""
    geo, w, s, reference = checkpoint_layer(kind, seed=tp)
    problems = []
    for rank in range(tp):
        try:
            weight, scale, sizes, kv_rows = load_rank(loader, geo, w, s, tp, rank)
        except (AssertionError, RuntimeError, ValueError) as exc:
            problems.append(f"rank {rank}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        got, scales = rank_qkv(weight, scale, sizes, kv_rows)
        want = mimo_fp8.rank_reference(*reference, geo, rank, tp)
        for name, g, sc, r in zip("QKV", got, scales, want):
            if g.shape != r.shape:
                problems.append(f"rank {rank}: {name} has {tuple(g.shape)}, should be {tuple(r.shape)}")
                continue
            # Where vLLM re-quantizes (a rank gathers rows from several chunks' scale blocks), each value may
            # move by one e4m3 rounding at the rank's new block scale: half a step, 2^-4 relative for normal
            # numbers, at most 2^-10 × scale for subnormal ones (2^-9 here, for slack).
            bound = torch.zeros_like(r) if exact else r.abs() / 16 + sc / 512
            if not bool(((g - r).abs() <= bound).all()):
                problems.append(f"rank {rank}: {name} off by up to {(g - r).abs().max().item():.3g} "
                                f"(values up to {r.abs().max().item():.3g})")
    return problems


CASES = [("decoder", kind, tp) for kind in ("full", "swa") for tp in TP_SIZES] + [
    ("mtp", "swa", tp) for tp in TP_SIZES]


@pytest.mark.vllm
@pytest.mark.parametrize(("loader", "kind", "tp"), CASES, ids=[f"{c[0]}-{c[1]}-tp{c[2]}" for c in CASES])
def test_every_rank_gets_the_checkpoints_q_k_and_v(loader, kind, tp):
    pytest.importorskip("vllm.model_executor.models.mimo_v2")
    assert wrong_ranks(loader, kind, tp) == []


@pytest.mark.vllm
@pytest.mark.parametrize("kind", ["full", "swa"])
@pytest.mark.parametrize("tp", [1, 2, 4])
def test_up_to_four_ranks_get_the_stored_fp8_values_and_scales_unchanged(kind, tp):
    # With at most one rank per checkpoint chunk vLLM 0.33 moves whole 128-row blocks with their own scales
    # (zero-padding K|V where a block straddles them), so nothing is re-quantized: every value is bit-exact.
    pytest.importorskip("vllm.model_executor.models.mimo_v2")
    assert wrong_ranks("decoder", kind, tp, exact=True) == []


def test_the_reference_is_not_a_plain_chunk_of_the_checkpoint():
    # The guard can fail: at TP 2 a naive chunk(2) of the fused weight (vLLM 0.26's MTP loader) interleaves
    # Q, K and V of two checkpoint chunks instead of giving the rank its heads.
    geo, w, s, reference = checkpoint_layer("swa", seed=0)
    naive = mimo_fp8.block_dequantize(w.view(torch.uint8).chunk(2)[0].view(w.dtype), s.chunk(2)[0])
    want_q = mimo_fp8.rank_reference(*reference, geo, 0, 2)[0]
    assert not torch.allclose(naive[: want_q.shape[0]], want_q)


@pytest.mark.slow
def test_vllm_0_26_cannot_load_the_official_layout():
    """Opt-in: MIMO_VLLM026_SITE=<folder with vLLM 0.26.0's Python files> (``pip download --no-deps vllm==0.26.0``,
    unzip the wheel's vllm/ there); its modules import on the CPU with this torch."""
    site = os.environ.get("MIMO_VLLM026_SITE")
    if not site:
        pytest.skip("set MIMO_VLLM026_SITE to a folder holding vLLM 0.26.0 to run the guard against it")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([site, str(Path(__file__).resolve().parents[2])]))
    run = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=600)
    lines = {line.split(":")[0]: line for line in run.stdout.splitlines() if " TP " in line}
    assert run.returncode == 1 and "vLLM 0.26.0" in run.stdout
    assert "(1856) must match the size of tensor b (1792)" in lines["decoder swa  TP 4"]
    assert "AssertionError" in lines["decoder full TP 8"]
    assert "WRONG" in lines["mtp     swa  TP 2"] and lines["mtp     swa  TP 4"].endswith("ok")


def main() -> int:
    import vllm

    failed = False
    print(f"vLLM {vllm.__version__}: official MiMo-V2.5 FP8 qkv_proj, TP 1/2/4/8")
    for loader, kind, tp in CASES:
        problems = wrong_ranks(loader, kind, tp)
        failed |= bool(problems)
        print(f"{loader:7} {kind:4} TP {tp}: " + ("ok" if not problems else "WRONG; " + "; ".join(problems[:2])
                                                  + (f"; +{len(problems) - 2} more" if len(problems) > 2 else "")))
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
