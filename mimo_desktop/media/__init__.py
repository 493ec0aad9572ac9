"""Media in: decode files, apply MiMo-V2.5's processor rules, count tokens. No Qt.

Importing this package is cheap (no torch, no Pillow decoding); the heavy
modules load on first use. Entry points:

- ``prepare(path_or_bytes, config) -> PreparedMedia``: decoded, measured, ready
  for vLLM (``vllm_data``) or a remote server (``openai_part``).
- ``estimate(path_or_bytes, config) -> MediaCost``: the cost from headers only.
- ``load_model_config(dir)`` / ``default_config()``: the processor parameters.
- ``prompt_token_count(text, items, config)``: a whole prompt's tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimo_desktop.media.config import ModelConfigError, ProcessorConfig, default_config, load_model_config
from mimo_desktop.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    UnreadableMediaError,
    UnsupportedMediaError,
)
from mimo_desktop.media.prepared import PLACEHOLDERS, MediaKind, PreparedMedia

if TYPE_CHECKING:
    from mimo_desktop.media.costs import MediaCost

__all__ = [
    "PLACEHOLDERS", "CorruptMediaError", "EmptyMediaError", "MediaError", "MediaKind", "MediaTooLargeError",
    "ModelConfigError", "PreparedMedia", "ProcessorConfig", "UnreadableMediaError", "UnsupportedMediaError",
    "default_config", "estimate", "load_model_config", "prepare", "prepare_file", "prompt_token_count",
]


def prepare(source: Any, config: ProcessorConfig | None = None) -> PreparedMedia:
    from mimo_desktop.media.preparation import prepare as _prepare

    return _prepare(source, config)


def prepare_file(path: Path, model_dir: Path | None = None) -> PreparedMedia:
    """Prepare one file with the model folder's config (or the built-in defaults)."""
    return prepare(path, load_model_config(model_dir) if model_dir is not None else default_config())


def estimate(source: Any, config: ProcessorConfig | None = None) -> MediaCost:
    from mimo_desktop.media.costs import estimate as _estimate

    return _estimate(source, config)


def prompt_token_count(prompt: str, items: Any, config: ProcessorConfig | None = None) -> int:
    from mimo_desktop.media.costs import prompt_token_count as _count

    return _count(prompt, items, config)
