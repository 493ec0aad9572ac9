"""Settings of the embedded vLLM engine, the model-folder check, and the engine
arguments built from them. Pure Python: vLLM is imported only where a vLLM
object is built (``make_engine_args``), so this module loads without vLLM.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mimo_desktop.engine.types import EngineError

ExecutorBackend = Literal["mp", "ray"]

# vLLM 0.33.0's neutral SamplingParams defaults; generation_config.json overrides them.
VLLM_SAMPLING_DEFAULTS: dict[str, float | int] = {
    "temperature": 1.0, "top_p": 1.0, "top_k": 0, "min_p": 0.0, "repetition_penalty": 1.0,
}
# The keys vLLM's ModelConfig.get_diff_sampling_param reads from generation_config.json.
GENERATION_CONFIG_KEYS = ("repetition_penalty", "temperature", "top_k", "top_p", "min_p")

# MiMo-V2 attention is DiffKV (head_dim 192, v_head_dim 128): this backend works
# with every vLLM 0.33.0 build; FLASH_ATTN needs FA4 (cutlass) for it.
DEFAULT_ATTENTION_BACKEND = "TRITON_ATTN_DIFFKV"
DEFAULT_MM_ENCODER_BACKEND = "TORCH_SDPA"


class SettingsError(EngineError):
    """A setting or the model folder is wrong; the message says what to change."""


@dataclass(frozen=True)
class VllmSettings:
    model_dir: Path
    tensor_parallel: int | None = None  # None: every visible GPU, rounded down to a power of two
    pipeline_parallel: int = 1
    executor_backend: ExecutorBackend = "mp"  # "ray" for several machines
    mtp: bool = True
    mtp_tokens: int = 1  # speculative tokens per step, 1-3
    attention_backend: str | None = DEFAULT_ATTENTION_BACKEND  # None: vLLM chooses
    mtp_attention_backend: str | None = DEFAULT_ATTENTION_BACKEND  # the draft layer does not inherit
    mm_encoder_attention_backend: str | None = DEFAULT_MM_ENCODER_BACKEND
    gpu_memory_fraction: float = 0.85
    max_context: int | None = 32768
    max_images: int = 4
    max_videos: int = 1
    max_audios: int = 2
    trust_remote_code: bool = True
    enforce_eager: bool = False
    load_format: str = "auto"  # "dummy": random weights, for tests
    seed: int = 0

    def __post_init__(self) -> None:
        if self.tensor_parallel is not None and self.tensor_parallel < 1:
            raise SettingsError(f"Tensor parallel size must be 1 or more, not {self.tensor_parallel}.")
        if self.pipeline_parallel < 1:
            raise SettingsError(f"Pipeline parallel size must be 1 or more, not {self.pipeline_parallel}.")
        if self.executor_backend not in ("mp", "ray"):
            raise SettingsError(f"Executor backend must be 'mp' or 'ray', not {self.executor_backend!r}.")
        if self.mtp and not 1 <= self.mtp_tokens <= 3:
            raise SettingsError(
                f"MTP speculative tokens must be 1, 2 or 3, not {self.mtp_tokens} "
                "(MiMo-V2.5 in vLLM 0.33.0 re-runs one MTP layer per token).")
        if not 0.05 <= self.gpu_memory_fraction <= 0.98:
            raise SettingsError(
                f"GPU memory fraction must be between 0.05 and 0.98, not {self.gpu_memory_fraction}.")
        if self.max_context is not None and self.max_context < 256:
            raise SettingsError(f"Max context must be at least 256 tokens, not {self.max_context}.")


@dataclass(frozen=True)
class ModelFolder:
    """What a model folder offers, checked before a minute-long engine start."""

    path: Path
    architecture: str
    modalities: tuple[str, ...]
    notes: tuple[str, ...] = ()
    generation_config: dict[str, Any] = field(default_factory=dict)
    max_positions: int | None = None


def inspect_model_folder(path: Path, load_format: str = "auto") -> ModelFolder:
    """Check config, tokenizer, weights and audio tokenizer; say what is missing.

    vLLM's MiMo audio encoder joins ``audio_tokenizer`` onto the model path, so
    a hub id silently loses audio: only a local folder is accepted, and vLLM gets
    it as an absolute path (a relative one would also be tried as a hub id).
    """
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise SettingsError(
            f"Model folder {path} does not exist. Download the model first "
            "(e.g. `huggingface-cli download XiaomiMiMo/MiMo-V2.5 --local-dir DIR`) and give that folder.")
    config = _read_json(path / "config.json", required=True)
    if not any((path / name).exists() for name in ("tokenizer.json", "tokenizer.model", "vocab.json")):
        raise SettingsError(f"Model folder {path} has no tokenizer (tokenizer.json).")
    if load_format != "dummy" and not any(path.glob("*.safetensors")) and not any(path.glob("*.bin")):
        raise SettingsError(f"Model folder {path} has no weights (*.safetensors); is the download complete?")
    modalities, notes = ["text"], []
    if "vision_config" in config:
        modalities += ["image", "video"]
    if "audio_config" in config:
        tok = path / "audio_tokenizer"
        if (tok / "config.json").is_file() and any(tok.glob("*.safetensors")):
            modalities.append("audio")
        else:
            notes.append(f"Audio is unavailable: {tok} (config.json + weights) is missing.")
    elif "vision_config" in config:
        notes.append("Audio is unavailable: this model has no audio encoder (no audio_config).")
    archs = config.get("architectures") or ["unknown"]
    return ModelFolder(
        path=path, architecture=str(archs[0]), modalities=tuple(modalities), notes=tuple(notes),
        generation_config=_read_json(path / "generation_config.json", required=False),
        max_positions=config.get("max_position_embeddings"),
    )


def _read_json(file: Path, required: bool) -> dict[str, Any]:
    if not file.is_file():
        if required:
            raise SettingsError(f"Model folder {file.parent} has no {file.name}; is it a model folder?")
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{file} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{file} is not a JSON object.")
    return data


def effective_sampling_defaults(generation_config: dict[str, Any]) -> dict[str, float | int]:
    """vLLM's defaults with the model's generation_config.json applied, as vLLM does."""
    merged = dict(VLLM_SAMPLING_DEFAULTS)
    for key in GENERATION_CONFIG_KEYS:
        if generation_config.get(key) is not None:
            merged[key] = generation_config[key]
    return merged


def visible_gpu_count() -> int:
    import torch  # lazy: the GUI start-up path must not pay for torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_tensor_parallel(settings: VllmSettings, gpus: int) -> int:
    if gpus < 1:
        raise SettingsError("No CUDA GPU is visible: the embedded engine needs at least one NVIDIA GPU. "
                            "Use a remote server instead (--engine remote --url ...).")
    # Default: every visible GPU, rounded down to a power of two. MiMo-V2.5's head counts (64 query heads,
    # 4 global and 8 sliding-window KV heads, the vision tower's 8 KV heads) are powers of two, so vLLM
    # refuses 3, 5, 6 or 7 GPUs: six GPUs run at TP 4 instead of failing at start.
    tp = settings.tensor_parallel or 1 << ((gpus // settings.pipeline_parallel or 1).bit_length() - 1)
    if tp * settings.pipeline_parallel > gpus:
        raise SettingsError(
            f"Tensor parallel {tp} × pipeline parallel {settings.pipeline_parallel} needs "
            f"{tp * settings.pipeline_parallel} GPUs, but {gpus} are visible.")
    return tp


def engine_args_kwargs(settings: VllmSettings, folder: ModelFolder, tensor_parallel: int) -> dict[str, Any]:
    """The AsyncEngineArgs fields for these settings (plain values, testable without vLLM)."""
    kwargs: dict[str, Any] = {
        "model": str(folder.path),
        "trust_remote_code": settings.trust_remote_code,
        "tensor_parallel_size": tensor_parallel,
        "pipeline_parallel_size": settings.pipeline_parallel,
        "distributed_executor_backend": settings.executor_backend,
        "gpu_memory_utilization": settings.gpu_memory_fraction,
        "enforce_eager": settings.enforce_eager,
        "load_format": settings.load_format,
        "seed": settings.seed,
        "generation_config": "auto",
        # our stat logger replaces vLLM's periodic log lines
        "disable_log_stats": True,
        "enable_log_requests": False,
    }
    if settings.max_context is not None:
        limit = settings.max_context
        if folder.max_positions:
            limit = min(limit, int(folder.max_positions))
        kwargs["max_model_len"] = limit
    if settings.attention_backend:
        kwargs["attention_backend"] = settings.attention_backend
    if "image" in folder.modalities or "audio" in folder.modalities:
        kwargs["limit_mm_per_prompt"] = _media_limits(settings, folder)
        if settings.mm_encoder_attention_backend:
            kwargs["mm_encoder_attn_backend"] = settings.mm_encoder_attention_backend
    if settings.mtp:
        spec: dict[str, Any] = {"method": "mtp", "num_speculative_tokens": settings.mtp_tokens}
        if settings.mtp_attention_backend:
            spec["attention_backend"] = settings.mtp_attention_backend
        kwargs["speculative_config"] = spec
    return kwargs


def _media_limits(settings: VllmSettings, folder: ModelFolder) -> dict[str, int]:
    limits = {"image": settings.max_images, "video": settings.max_videos}
    if "audio" in folder.modalities:
        limits["audio"] = settings.max_audios
    return {kind: n for kind, n in limits.items() if kind in folder.modalities}


def make_engine_args(kwargs: dict[str, Any]) -> Any:
    """Build vLLM's AsyncEngineArgs (imports vLLM)."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    return AsyncEngineArgs(**kwargs)


def prepare_process_environment() -> None:
    """Set what vLLM reads from the environment before it starts workers.

    spawn: our process already runs threads (Qt, the engine loop), and fork
    copies their locks in whatever state they are.
    """
    os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
