"""Costs before decoding: token counts from headers alone, and the text prompt's tokens.

``estimate`` reads sizes, frame counts and durations from a file's header (no
pixel or sample is decoded), so the UI can show a cost as soon as a file is
dropped. For pictures and videos the count equals what ``prepare`` finds, since
both use the same facts; for compressed audio the header's duration can be off
by a few milliseconds, so ``exact`` is False there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mimo_desktop.media import plan
from mimo_desktop.media.config import ProcessorConfig, default_config
from mimo_desktop.media.errors import EmptyMediaError
from mimo_desktop.media.preparation import SourceLike, open_source, read_source
from mimo_desktop.media.prepared import PLACEHOLDERS, MediaKind, PreparedMedia
from mimo_desktop.media.sniff import sniff

# Formats whose header gives the exact sample count.
_EXACT_AUDIO = {"wav", "flac"}


@dataclass(frozen=True)
class MediaCost:
    kind: MediaKind
    tokens: int
    resized: tuple[int, int] | None = None
    duration_s: float | None = None
    exact: bool = True  # False: the header may be a little off (compressed audio)
    estimate: bool = False  # True: built-in defaults, not a model's config
    audio_track_tokens: int = 0  # a video's sound, sent as its own audio item
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.tokens + self.audio_track_tokens


def estimate(source: SourceLike, config: ProcessorConfig | None = None) -> MediaCost:
    """The token cost of a file from its header; raises ``MediaError`` like ``prepare``."""
    cfg = config or default_config()
    src = open_source(source, cfg)  # only the head: a 1 GiB clip is not read to price it
    sniffed = sniff(src.head)
    if sniffed.kind == "image":
        from mimo_desktop.media.decode_image import read_image_header

        header = read_image_header(read_source(source, cfg)[0], cfg.max_image_pixels)
        resized, tokens = plan.image_cost(header.width, header.height, cfg)
        return MediaCost("image", tokens, resized, estimate=cfg.estimate,
                         details={"format": sniffed.format, "width": header.width, "height": header.height})
    from mimo_desktop.media import decode_av

    video = decode_av.probe_video(src.av) if sniffed.kind == "audiovisual" else None
    audio = decode_av.probe_audio(src.av)
    if video is not None:
        return _video_cost(video, audio, sniffed.format, cfg)
    if audio is None:
        raise EmptyMediaError(f"The {sniffed.format.upper()} file holds neither pictures nor sound.")
    return _audio_cost(audio, sniffed.format, cfg)


def _video_cost(video, audio, fmt: str, cfg: ProcessorConfig) -> MediaCost:
    width, height = video.display_size
    video_plan = plan.plan_video(width, height, video.num_frames, video.fps, cfg)
    times = [i / video.fps for i in video_plan.indices]
    tokens, texts = plan.video_tokens(video_plan, times, cfg)
    track = _audio_cost(audio, fmt, cfg).tokens if (audio is not None and cfg.include_video_audio) else 0
    return MediaCost("video", tokens, video_plan.resized, video.duration_s, estimate=cfg.estimate,
                     audio_track_tokens=track,
                     details={"format": fmt, "width": width, "height": height, "fps": video.fps,
                              "frames": video_plan.num_frames, "timestamps": [round(t, 3) for t in times],
                              "token_timestamps": texts})


def _audio_cost(audio, fmt: str, cfg: ProcessorConfig) -> MediaCost:
    samples = round(audio.duration_s * audio.sample_rate)
    tokens = plan.audio_tokens(plan.audio_samples_at_model_rate(samples, audio.sample_rate, cfg), cfg)
    return MediaCost("audio", tokens, None, audio.duration_s, exact=fmt in _EXACT_AUDIO, estimate=cfg.estimate,
                     details={"format": fmt, "sample_rate": audio.sample_rate, "channels": audio.channels})


# Rough rates measured on 2 shared cores (bench/media_memory.py, bench/media_prepare.py): a minute of
# sound decoded and resampled in ~0.5 s; a sampled 1080p frame found and scaled in ~0.15 s.
_SOUND_SECONDS_PER_SECOND = 1 / 120
_FRAME_SECONDS_PER_MEGAPIXEL = 0.07


def rough_prepare_seconds(cost: MediaCost) -> float:
    """About how long ``prepare`` will take for this file on a small machine (said before it starts)."""
    if cost.kind == "image":
        return 0.1
    sound = (cost.duration_s or 0.0) * _SOUND_SECONDS_PER_SECOND
    if cost.kind == "audio":
        return sound
    pixels = (cost.details.get("width", 0) * cost.details.get("height", 0)) / 1e6
    frames = cost.details.get("frames", 0) * pixels * _FRAME_SECONDS_PER_MEGAPIXEL
    return frames + (sound if cost.audio_track_tokens else 0.0)


def count_text_tokens(text: str, config: ProcessorConfig | None = None) -> int:
    """Tokens of a text (special tokens such as ``<|im_start|>`` count as one each)."""
    return (config or default_config()).count_text(text)


def prompt_token_count(
    prompt: str, items: Iterable[PreparedMedia | MediaCost], config: ProcessorConfig | None = None
) -> int:
    """Tokens of a whole prompt whose text holds one placeholder per item, as vLLM will count them.

    vLLM tokenizes the text (each placeholder is a few special tokens), then swaps
    each item's pad token for the item's tokens; ``PreparedMedia.tokens`` already
    includes the placeholder's start and end tokens.
    """
    cfg = config or default_config()
    total = cfg.count_text(prompt)
    for item in items:
        total += item.tokens - cfg.count_text(PLACEHOLDERS[item.kind])
    return total
