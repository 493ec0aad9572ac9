"""Will the model fit the GPUs? Say so before a one-minute engine start fails with out-of-memory.

Per GPU at tensor-parallel size N, vLLM needs:
  weights / N  +  the KV cache for the context it is asked to hold  +  a runtime reserve,
and it may use only ``gpu_memory_utilization`` (0.9 by default) of each GPU's total memory.
These are estimates on the safe side, not vLLM's own profile: they catch "4 GPUs will never do"
early, not a few hundred MiB of headroom. Every estimate also says the longest context that fits
(MiMo-V2.5 declares 1,048,576 tokens, which not every TP size can hold), so the user can cap the
engine's max context to it instead of meeting vLLM's "larger than the KV cache" at start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Sequence

from mimo_desktop.models.errors import FitError
from mimo_desktop.models.gpus import GpuInfo, detect_gpus
from mimo_desktop.models.model_config import ModelShape, tensor_parallel_sizes, tp_refusal
from mimo_desktop.models.report import ModelFolderReport
from mimo_desktop.models.units import GIB, format_bytes

# Activations during vLLM's profiling pass (MoE with a few thousand batched tokens, the vision
# tower's dummy images), CUDA graphs and NCCL buffers. An estimate, kept generous on purpose.
RUNTIME_RESERVE_BYTES = 3 * GIB
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
DEFAULT_CONTEXT_TOKENS = 32768
_UNKNOWN_MAX_CONTEXT = 1 << 24  # search bound when config.json gives no max_position_embeddings

# When the machine has no GPU we still say what it would take, in common data-centre sizes.
REFERENCE_GPUS = (("80 GiB GPUs (H100 / A100 80GB)", 80 * GIB), ("141 GiB GPUs (H200)", 141 * GIB))


@dataclass(frozen=True)
class FitNeeds:
    """What one GPU must hold at a given TP size."""

    tp: int
    weights: int
    kv_cache: int
    reserve: int
    context_tokens: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.reserve


@dataclass(frozen=True)
class FitEstimate:
    needs: FitNeeds
    fits: bool
    gpus_present: int
    minimum_gpus: int | None  # smallest TP size that fits this machine's GPU size; None if none does
    message: str
    warnings: tuple[str, ...] = ()
    longest_context: int = 0  # most context tokens (≤ the model's maximum) that fit at this TP; 0: none


def valid_tp_sizes(shape: ModelShape) -> tuple[int, ...]:
    """TP sizes vLLM 0.33.0 can shard this model over (the rules: ``model_config.tp_refusal``)."""
    return tensor_parallel_sizes(shape)


def kv_cache_bytes(shape: ModelShape, tp: int, context_tokens: int, *, dtype_bytes: int = 2,
                   sequences: int = 1) -> int:
    """KV-cache bytes one GPU holds for ``sequences`` requests of ``context_tokens`` each.

    Sliding-window layers keep only their window (vLLM's hybrid KV-cache manager). KV heads are
    split across the TP ranks; with fewer KV heads than ranks each rank keeps a replica of one.
    """
    total = 0
    for kind in shape.attention:
        heads_per_gpu = math.ceil(kind.kv_heads / tp)
        tokens = min(context_tokens, kind.window) if kind.window else context_tokens
        total += kind.layers * heads_per_gpu * (kind.k_head_dim + kind.v_head_dim) * dtype_bytes * tokens
    return total * sequences


def needs_per_gpu(shape: ModelShape, weight_bytes: int, tp: int, context_tokens: int, *,
                  replicated_bytes: int = 0, kv_dtype_bytes: int = 2, sequences: int = 1) -> FitNeeds:
    """``replicated_bytes``: weights every rank loads whole (the audio tokenizer)."""
    reason = tp_refusal(shape, tp) if tp >= 1 else f"{tp} is not a number of GPUs"
    if reason:
        sizes = ", ".join(str(t) for t in valid_tp_sizes(shape))
        raise FitError(f"Tensor-parallel size {tp} does not work with this model: {reason}. Use one of {sizes}.")
    if context_tokens <= 0:
        raise FitError(f"The context length must be a positive number of tokens, not {context_tokens}.")
    return FitNeeds(
        tp=tp,
        weights=math.ceil(weight_bytes / tp) + replicated_bytes,
        kv_cache=kv_cache_bytes(shape, tp, context_tokens, dtype_bytes=kv_dtype_bytes, sequences=sequences),
        reserve=RUNTIME_RESERVE_BYTES,
        context_tokens=context_tokens,
    )


def longest_context(shape: ModelShape, weight_bytes: int, tp: int, gpu_bytes: int, *,
                    utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION, replicated_bytes: int = 0) -> int:
    """The most tokens of context (up to the model's maximum) one request can have at ``tp`` on GPUs of
    ``gpu_bytes``; 0 when the weights and the runtime reserve alone do not fit."""
    budget = gpu_bytes * utilization - math.ceil(weight_bytes / tp) - replicated_bytes - RUNTIME_RESERVE_BYTES
    low, high = 0, shape.max_context or _UNKNOWN_MAX_CONTEXT
    while low < high:  # the KV cache grows with the context: the largest that fits, by bisection
        mid = (low + high + 1) // 2
        if kv_cache_bytes(shape, tp, mid) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def minimum_tp(shape: ModelShape, weight_bytes: int, gpu_bytes: int, context_tokens: int, *,
               utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION, replicated_bytes: int = 0) -> int | None:
    """Smallest TP size whose per-GPU need fits a GPU of ``gpu_bytes`` total memory."""
    for tp in valid_tp_sizes(shape):
        need = needs_per_gpu(shape, weight_bytes, tp, context_tokens, replicated_bytes=replicated_bytes)
        if need.total <= gpu_bytes * utilization:
            return tp
    return None


def estimate_fit(shape: ModelShape, weight_bytes: int, tp: int, context_tokens: int, gpus: Sequence[GpuInfo], *,
                 utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION, replicated_bytes: int = 0) -> FitEstimate:
    """Compare the needs at ``tp`` with the GPUs present and say the outcome in one message."""
    needs = needs_per_gpu(shape, weight_bytes, tp, context_tokens, replicated_bytes=replicated_bytes)
    if not gpus:
        return _no_gpu_estimate(shape, weight_bytes, needs, context_tokens, utilization, replicated_bytes)
    used = list(gpus[:tp])
    smallest = min(used, key=lambda g: g.total_bytes)
    budget = smallest.total_bytes * utilization
    minimum = minimum_tp(shape, weight_bytes, smallest.total_bytes, context_tokens, utilization=utilization,
                         replicated_bytes=replicated_bytes)
    gpu_words = f"{smallest.name} ({format_bytes(smallest.total_bytes)} each)"
    breakdown = _breakdown(needs, budget, utilization)
    warnings = _free_memory_warnings(used, utilization)
    longest = longest_context(shape, weight_bytes, tp, smallest.total_bytes, utilization=utilization,
                              replicated_bytes=replicated_bytes)
    context = _context_words(shape, tp, longest)
    minimum_words = _minimum_words(minimum, gpu_words, len(gpus), context_tokens)
    if len(gpus) < tp:
        message = f"TP {tp} needs {tp} GPUs but this machine has {len(gpus)}. {minimum_words}"
        return FitEstimate(needs, False, len(gpus), minimum, message, warnings, longest)
    if needs.total <= budget:
        message = f"Fits on {tp} × {gpu_words} at TP {tp}: {breakdown}. {context}"
        return FitEstimate(needs, True, len(gpus), minimum, message, warnings, longest)
    message = f"Does not fit at TP {tp}: {breakdown}. {context} {minimum_words}"
    return FitEstimate(needs, False, len(gpus), minimum, message, warnings, longest)


def _context_words(shape: ModelShape, tp: int, longest: int) -> str:
    if not longest:
        return f"At TP {tp} the weights alone do not leave room for any context."
    if shape.max_context and longest >= shape.max_context:
        return f"The model's whole {shape.max_context:,}-token context fits at TP {tp}."
    of_max = f" of the model's {shape.max_context:,}" if shape.max_context else ""
    return f"At TP {tp} a context of up to {longest:,}{of_max} tokens fits: set the max context to at most that."


def _breakdown(needs: FitNeeds, budget: float, utilization: float) -> str:
    return (
        f"{format_bytes(needs.weights)} weights + {format_bytes(needs.kv_cache)} KV cache for "
        f"{needs.context_tokens:,} tokens + {format_bytes(needs.reserve)} runtime = {format_bytes(needs.total)} per GPU, "
        f"of {format_bytes(budget)} usable ({utilization:.0%})"
    )


def _minimum_words(minimum: int | None, gpu_words: str, present: int, context: int) -> str:
    if minimum is None:
        return f"It does not fit on any number of {gpu_words}; use a smaller context or a quantized checkpoint."
    have = f"this machine has {present}" if present < minimum else f"this machine has {present}: use TP {minimum}"
    return f"The model needs at least {minimum} × {gpu_words} for a {context:,}-token context; {have}."


def _free_memory_warnings(gpus: Sequence[GpuInfo], utilization: float) -> tuple[str, ...]:
    # vLLM refuses to start when a GPU has less free memory than it was told to take.
    warnings = []
    for gpu in gpus:
        wanted = gpu.total_bytes * utilization
        if gpu.free_bytes < wanted:
            warnings.append(
                f"GPU {gpu.index} ({gpu.name}) has only {format_bytes(gpu.free_bytes)} free of "
                f"{format_bytes(gpu.total_bytes)}; the engine asks for {format_bytes(wanted)} ({utilization:.0%}). "
                "Close the programs using it or lower the GPU memory share."
            )
    return tuple(warnings)


def _no_gpu_estimate(shape: ModelShape, weight_bytes: int, needs: FitNeeds, context_tokens: int,
                     utilization: float, replicated_bytes: int) -> FitEstimate:
    options = []
    for words, size in REFERENCE_GPUS:
        tp = minimum_tp(shape, weight_bytes, size, context_tokens, utilization=utilization,
                        replicated_bytes=replicated_bytes)
        if tp is not None:
            longest = longest_context(shape, weight_bytes, tp, size, utilization=utilization,
                                      replicated_bytes=replicated_bytes)
            whole = bool(shape.max_context) and longest >= shape.max_context
            options.append(f"{tp} × {words} (context up to {longest:,} tokens"
                           + (", the model's maximum)" if whole else ")"))
    need = " or ".join(options) if options else "more GPU memory than common GPUs offer"
    message = (
        "No NVIDIA GPU on this machine, so the embedded engine cannot run here; connect to a remote server "
        f"instead. To run it locally the model needs at least {need}."
    )
    return FitEstimate(needs, False, 0, None, message)


def estimate_fit_for(report: ModelFolderReport, *, tp: int | None = None,
                     context_tokens: int | None = DEFAULT_CONTEXT_TOKENS, gpus: Sequence[GpuInfo] | None = None) -> FitEstimate:
    """The fit of a checked folder on this machine's GPUs (or ``gpus``), what the app and the CLI show.

    Without ``tp``: the smallest TP size that fits these GPUs, else 1. The context is capped at the
    model's maximum; ``context_tokens=None`` asks for that maximum. The audio tokenizer counts whole on
    every GPU (vLLM loads it on each rank).
    """
    shape = report.config.shape if report.config else None
    if shape is None:
        raise FitError(f"{report.path}/config.json does not give the model's layer sizes, so fit cannot be estimated.")
    if context_tokens is None:
        context_tokens = shape.max_context or DEFAULT_CONTEXT_TOKENS
    context = min(context_tokens, shape.max_context) if shape.max_context else context_tokens
    gpus = list(detect_gpus().gpus if gpus is None else gpus)
    replicated = _audio_tokenizer_bytes(report)
    if tp is None:
        smallest = min((g.total_bytes for g in gpus), default=0)
        tp = (minimum_tp(shape, report.weight_bytes, smallest, context, replicated_bytes=replicated) if gpus else None) or 1
    return estimate_fit(shape, report.weight_bytes, tp, context, gpus, replicated_bytes=replicated)


def _audio_tokenizer_bytes(report: ModelFolderReport) -> int:
    if report.config is None or not report.config.has_audio_encoder:
        return 0
    folder = report.path / "audio_tokenizer"
    return sum(p.stat().st_size for p in folder.glob("*.safetensors")) if folder.is_dir() else 0
