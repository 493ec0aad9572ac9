"""What the media layer hands to everything else: one prepared attachment.

This is the contract between ``media`` (which decodes and runs MiMo-V2.5's
processor rules) and ``engine`` (which sends the result to vLLM or to a remote
OpenAI-compatible server) and ``ui`` (which shows the cost). No Qt here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MediaKind = Literal["image", "video", "audio"]

# vLLM 0.33.0 MiMoV2OmniForCausalLM.get_placeholder_str: the text one item
# occupies in the prompt before vLLM expands it to the item's tokens.
PLACEHOLDERS: dict[str, str] = {
    "image": "<|vision_start|><|image_pad|><|vision_end|>",
    "video": "<|vision_start|><|video_pad|><|vision_end|>",
    "audio": "<|mimo_audio_start|><|audio_pad|><|mimo_audio_end|>",
}

# vLLM's multi_modal_data keys per kind.
VLLM_MODALITY: dict[str, str] = {"image": "image", "video": "video", "audio": "audio"}


@dataclass(frozen=True)
class PreparedMedia:
    """One attachment, decoded and measured, ready for either engine.

    ``tokens`` is the exact number of prompt tokens the item adds (its start
    and end tokens included), as vLLM 0.33.0's processor would count them.
    ``vllm_data`` is what goes into vLLM's ``multi_modal_data[kind]`` list:
    image -> ``PIL.Image.Image`` (RGB); video -> ``(frames uint8 T×C×H×W
    torch.Tensor, timestamps float torch.Tensor)``; audio -> ``(float32
    numpy array, sample_rate)`` already at the model's rate, mono.
    ``openai_part`` is the OpenAI chat content part with a data URL
    (``image_url``, ``video_url`` or ``input_audio``).
    """

    kind: MediaKind
    tokens: int
    vllm_data: Any
    openai_part: Mapping[str, Any]  # a dict, or a LazyPart that builds the data URL when first read
    source: Path | None = None
    sha256: str | None = None
    # Human-facing facts for previews and `inspect`.
    resized: tuple[int, int] | None = None  # (height, width) for image/video
    timestamps: tuple[float, ...] | None = None  # sampled frame times (video)
    duration_s: float | None = None  # video/audio
    details: dict[str, Any] = field(default_factory=dict)
    estimate: bool = False  # True when built-in defaults were used, not a model's config
    # A video's sound as its own audio item (vLLM's MiMo takes video and audio
    # separately); its tokens are not in ``tokens``. None: no track, or not wanted.
    audio_track: PreparedMedia | None = None

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]

    @property
    def total_tokens(self) -> int:
        """Tokens of this item plus those of its audio track, if any."""
        return self.tokens + (self.audio_track.tokens if self.audio_track is not None else 0)

    def items(self) -> tuple[PreparedMedia, ...]:
        """What the engines send for this attachment: itself, then a video's sound as its own audio item
        (vLLM 0.33.0's MiMo data parser takes image, video and audio items, no combined video-with-audio one)."""
        return (self,) if self.audio_track is None else (self, self.audio_track)
