"""MiMo-V2.5's processor rules as plain arithmetic: sizes, frame sampling, token counts.

No torch, no decoding: everything here works from numbers (width, height, frame
count, sample count), so the UI can show exact costs from a file's header alone.
The rules mirror vLLM 0.33.0 (``transformers_utils/processors/mimo_v2_omni.py``
and the prompt updates in ``model_executor/models/mimo_v2_omni.py``); the frame
sampling rule is the MiMo processor's own (vLLM receives frames already sampled).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mimo_desktop.media.errors import EmptyMediaError, MediaTooLargeError, UnsupportedMediaError

# vLLM refuses images whose long side is more than 200 times the short side.
MAX_ASPECT_RATIO = 200


def format_timestamp(seconds: float) -> str:
    """The ``MM:SS`` text the model reads before each temporal group of a video."""
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """(height, width) after resizing to multiples of ``factor`` within the pixel bounds.

    Same arithmetic as the reference. One deliberate difference: the reference
    checks its 200:1 aspect limit only when both sides are at least ``factor``, so
    a 1×5000 strip slips through and then resizes to zero pixels (a crash) or to a
    160 000-pixel-wide band. We apply the limit to every picture.
    """
    h, w = height, width
    if h <= 0 or w <= 0:
        raise UnsupportedMediaError(f"The picture has no pixels ({width}×{height}).")
    if max(h, w) / min(h, w) > MAX_ASPECT_RATIO:
        raise UnsupportedMediaError(
            f"The picture is {width}×{height} pixels: MiMo accepts at most a {MAX_ASPECT_RATIO}:1 aspect ratio."
        )
    if min(h, w) < factor:
        if h < w:
            h, w = factor, int(w * factor / h)
        else:
            w, h = factor, int(h * factor / w)
    h_bar = round(h / factor) * factor
    w_bar = round(w / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((h * w) / max_pixels)
        h_bar = math.floor(h / beta / factor) * factor
        w_bar = math.floor(w / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        h_bar = math.ceil(h * beta / factor) * factor
        w_bar = math.ceil(w * beta / factor) * factor
    if h_bar <= 0 or w_bar <= 0:
        # a long thin strip under a small pixel budget; the reference would crash resizing to 0
        raise UnsupportedMediaError(f"The picture is {width}×{height} pixels: too thin for MiMo at this size.")
    return int(h_bar), int(w_bar)


def video_max_pixels(num_frames: int, min_pixels: int, max_pixels: int, total_max_pixels: int, frame_factor: int) -> int:
    """Per-frame pixel cap: the whole video shares ``total_max_pixels`` (counted per temporal patch)."""
    per_frame = total_max_pixels * frame_factor // max(num_frames, 1)
    return max(min_pixels, min(per_frame, max_pixels))


def sample_frame_count(
    total_frames: int,
    source_fps: float,
    frame_factor: int,
    *,
    fps: float | None,
    num_frames: int | None,
    min_frames: int | None,
    max_frames: int | None,
) -> int:
    """How many frames the MiMo processor takes from a video (a multiple of ``frame_factor``)."""
    if num_frames is not None:
        n = num_frames
    elif fps is not None:
        n = math.ceil(total_frames / source_fps * fps)
        if max_frames is not None:
            n = min(n, max_frames)
        if min_frames is not None:
            n = max(n, min_frames)
    else:
        raise ValueError("The processor config sets neither fps nor num_frames.")
    n = min(n, total_frames)
    n = math.ceil(n / frame_factor) * frame_factor
    return n if n > 0 else frame_factor


def sample_frame_indices(total_frames: int, count: int) -> list[int]:
    """Evenly spread frame indices, the first at 0, without the last frame (the MiMo rule).

    ``count`` may exceed ``total_frames`` (rounded up to a temporal multiple); the
    reference then repeats frames, and so do we.
    """
    step = total_frames / count
    # round-half-to-even, like torch.round in the reference
    return [min(round(i * step), total_frames - 1) for i in range(count)]


@dataclass(frozen=True)
class VideoLayout:
    """Where a video's tokens go: groups of ``temporal_patch`` frames, each with a timestamp."""

    resized: tuple[int, int]  # (height, width)
    grid: tuple[int, int, int]  # (t, h, w) in patches
    tokens_per_group: int
    group_timestamps: tuple[float, ...]


def image_token_count(resized: tuple[int, int], patch_size: int, merge_size: int) -> int:
    """Tokens an image adds: its pads plus ``<|vision_start|>`` and ``<|vision_end|>``."""
    # a still image is repeated to fill one temporal patch: grid (1, h/p, w/p)
    return (resized[0] // patch_size) * (resized[1] // patch_size) // (merge_size**2) + 2


def video_group_timestamps(num_groups: int, first: float, seconds_per_group: float) -> list[float]:
    """The timestamps vLLM's prompt update writes: ``first + j * seconds_per_group``."""
    return [first + j * seconds_per_group for j in range(num_groups)]


def video_token_count(
    groups: int, tokens_per_group: int, timestamp_texts: Sequence[str], count_text: Callable[[str], int]
) -> int:
    """Tokens a video adds, as vLLM 0.33.0 lays them out when it applies its prompt update.

    The prompt's ``<|vision_start|><|video_pad|><|vision_end|>`` keeps its outer
    start/end, and the pad becomes ``<|mimo_video_start|>`` + per group
    (``MM:SS`` + start + pads + end) + ``<|mimo_video_end|>``.
    """
    if len(timestamp_texts) != groups:
        raise ValueError("one timestamp per temporal group")
    ts_tokens = sum(count_text(t) for t in timestamp_texts)
    return 2 + 1 + groups * (tokens_per_group + 2) + ts_tokens + 1


def resampled_length(num_samples: int, source_rate: int, target_rate: int) -> int:
    """Samples after torchaudio's ``Resample`` (ceil of the exact ratio, rates reduced by their gcd)."""
    if source_rate == target_rate:
        return num_samples
    g = math.gcd(source_rate, target_rate)
    orig, new = source_rate // g, target_rate // g
    return -(-new * num_samples // orig)


def mel_frame_count(num_samples: int, hop_length: int) -> int:
    """Frames of a centred STFT (torchaudio ``MelSpectrogram(center=True)``)."""
    return num_samples // hop_length + 1


def audio_token_count_from_frames(
    mel_frames: int, kernel_size: int, stride_size: int, avg_pooler: int, group_size: int
) -> int:
    """The MiMo audio-token formula (conv stack, average pooler, then groups of ``group_size``)."""
    n = mel_frames + 3 - kernel_size
    n = (n + 2 - kernel_size) // stride_size + 1
    n = n // avg_pooler + int(n % avg_pooler != 0)
    return math.ceil(n / group_size)


def check_video_frames(total_frames: int, source_fps: float) -> None:
    if total_frames <= 0:
        raise EmptyMediaError("The video has no frames.")
    if not source_fps or source_fps <= 0 or not math.isfinite(source_fps):
        raise UnsupportedMediaError("The video does not say its frame rate.")


def check_pixels(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise MediaTooLargeError(
            f"The picture is {width}×{height} ({width * height / 1e6:.0f} MP); "
            f"the limit is {limit / 1e6:.0f} MP."
        )
