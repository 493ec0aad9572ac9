"""MiMo-V2.5 processor parameters: from a model folder's config.json, or built-in defaults.

The fallbacks are those of vLLM 0.33.0's ``MiMoOmniProcessor.from_hf_config``
(which uses ``or``, so a 0 or null in the config also means "default"). With no
model folder, costs are computed with these defaults and flagged as estimates,
because a model's own ``processor_config`` may change the pixel budgets or fps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mimo_desktop.media.errors import MediaError


class ModelConfigError(MediaError):
    """The model folder's config.json or tokenizer cannot be read."""


# Digits are single tokens in MiMo's tokenizer family, so "MM:SS" is 5 tokens;
# used only when no tokenizer is configured (costs are then estimates anyway).
def _estimate_text_tokens(text: str) -> int:
    if all(c.isdigit() or c == ":" for c in text):
        return len(text)
    return max(1, round(len(text.encode("utf-8")) / 4))


@dataclass(frozen=True)
class ProcessorConfig:
    """Everything the MiMo processor rules need. Defaults: MiMo-V2.5's published config.json.

    (``processor_config`` of XiaomiMiMo/MiMo-V2.5: patch 16, pixels 8192…8388608 per
    image or frame, 268435456 per video, 1 fps up to 3600 frames; ``min_frames`` is
    null there, which vLLM turns into 8.)
    """

    patch_size: int = 16
    merge_size: int = 2
    temporal_patch_size: int = 2
    temporal_compression_ratio: int = 1
    image_min_pixels: int = 8192
    image_max_pixels: int = 8388608
    video_min_pixels: int = 8192
    video_max_pixels: int = 8388608
    video_total_max_pixels: int = 268435456
    fps: float | None = 1.0
    num_frames: int | None = None
    min_frames: int | None = 8
    max_frames: int | None = 3600
    audio_sampling_rate: int = 24000
    audio_n_fft: int = 960
    audio_hop_length: int = 240
    audio_window_size: int = 960
    audio_n_mels: int = 128
    audio_fmin: float = 0.0
    audio_fmax: float | None = None
    audio_kernel_size: int = 3
    audio_stride_size: int = 2
    audio_avg_pooler: int = 2
    audio_group_size: int = 4
    # vLLM 0.33.0's data parser reads the second element of a (frames, timestamps)
    # video item as metadata and drops it, so MiMo's processor numbers the frames
    # one second apart. Our embedded engine makes vLLM keep them
    # (engine/vllm_patches.py), so tokens use the real times; False models unpatched vLLM.
    vllm_keeps_video_timestamps: bool = True
    include_video_audio: bool = True
    max_image_pixels: int = 100_000_000  # refuse larger pictures (decompression bombs)
    max_file_bytes: int = 2 * 1024**3
    max_duration_s: float = 3 * 3600.0
    model_dir: Path | None = None
    estimate: bool = True  # True when these are built-in defaults, not a model's config
    count_text: Callable[[str], int] = field(default=_estimate_text_tokens, compare=False, repr=False)

    @property
    def factor(self) -> int:
        """Side length (pixels) of one merged token: resized sides are multiples of it."""
        return self.patch_size * self.merge_size

    @property
    def frame_factor(self) -> int:
        return self.temporal_patch_size * self.temporal_compression_ratio

    def with_overrides(self, **changes: Any) -> ProcessorConfig:
        return replace(self, **changes)


def default_config() -> ProcessorConfig:
    """Built-in MiMo-V2.5 defaults (costs computed with them are estimates)."""
    return ProcessorConfig()


def load_model_config(model_dir: str | Path) -> ProcessorConfig:
    """Read config.json (vision_config, processor_config, audio_config) and the tokenizer."""
    folder = Path(model_dir)
    path = folder / "config.json"
    try:
        hf = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelConfigError(f"{folder} has no config.json; is it a model folder?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelConfigError(f"Cannot read {path}: {exc}") from None
    if not isinstance(hf, dict):
        raise ModelConfigError(f"{path} is not a JSON object.")
    try:
        config = config_from_hf(hf)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ModelConfigError(f"{path} has an unusable vision or processor setting: {exc}") from None
    return replace(config, model_dir=folder, count_text=load_text_counter(folder))


def config_from_hf(hf: dict[str, Any]) -> ProcessorConfig:
    """The processor parameters a config.json dict implies, with vLLM's fallbacks for what it leaves out."""
    vision = _vision_params(hf)
    return ProcessorConfig(**vision, **_processor_params(hf, vision), **_audio_params(hf), estimate=False)


def _vision_params(hf: dict[str, Any]) -> dict[str, Any]:
    # vLLM wraps vision_config in Mimo_VLVisionConfig, whose own defaults apply to missing keys
    vc = hf.get("vision_config") or {}
    return {
        "patch_size": int(vc.get("patch_size", 16)),
        "merge_size": int(vc.get("spatial_merge_size", 2)),
        "temporal_patch_size": int(vc.get("temporal_patch_size", 2)),
    }


def _processor_params(hf: dict[str, Any], vision: dict[str, Any]) -> dict[str, Any]:
    # the `or` fallbacks of MiMoOmniProcessor.from_hf_config: 0 and null mean "default"
    pc = hf.get("processor_config") or {}
    unit2 = (vision["patch_size"] * vision["merge_size"]) ** 2
    return {
        "image_min_pixels": int(pc.get("image_min_pixels") or 4 * unit2),
        "image_max_pixels": int(pc.get("image_max_pixels") or 4096 * unit2),
        "video_min_pixels": int(pc.get("video_min_pixels") or 4 * unit2),
        "video_max_pixels": int(pc.get("video_max_pixels") or 4096 * unit2),
        "video_total_max_pixels": int(pc.get("video_total_max_pixels") or 16384 * unit2),
        "fps": float(pc.get("fps") or 2.0),
        "num_frames": pc.get("num_frames"),
        "max_frames": int(pc.get("max_frames") or 256),
        "min_frames": int(pc.get("min_frames") or 8),
    }


def _audio_params(hf: dict[str, Any]) -> dict[str, Any]:
    pc = hf.get("processor_config") or {}
    ac = hf.get("audio_config") or {}
    rate = pc.get("audio_sampling_rate") or ac.get("sampling_rate") or ac.get("sample_rate")
    return {"audio_sampling_rate": int(rate or 24000)}


def load_text_counter(folder: Path) -> Callable[[str], int]:
    """A function counting the tokens of a text, as ``tokenizer.encode(text, add_special_tokens=False)``."""
    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        try:
            from tokenizers import Tokenizer  # a small Rust library; no transformers start-up cost
        except ImportError:
            pass
        else:
            try:
                tok = Tokenizer.from_file(str(tokenizer_json))
            except Exception as exc:  # the Rust side raises plain Exception
                raise ModelConfigError(f"Cannot read {tokenizer_json}: {exc}") from None
            return lambda text: len(tok.encode(text, add_special_tokens=False).ids)
    try:
        from transformers import AutoTokenizer

        hf_tok = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # any loader failure is the same story for the user
        raise ModelConfigError(f"Cannot load the tokenizer in {folder}: {exc}") from None
    return lambda text: len(hf_tok.encode(text, add_special_tokens=False))
