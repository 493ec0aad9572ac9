"""From a file's facts (size, frames, samples) to what the processor will do and what it costs.

Shared by the header-only estimate and the full ``prepare``, so both report the
same numbers for the same file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mimo_desktop.media import rules
from mimo_desktop.media.config import ProcessorConfig
from mimo_desktop.media.errors import EmptyMediaError, MediaTooLargeError, UnsupportedMediaError

# Shorter sounds break the reference's STFT (reflect padding needs > n_fft/2 samples)
# and carry nothing a model could use.
MIN_AUDIO_SECONDS = 0.1
# Narrower frames confuse vLLM's layout guess for tensors (it treats a last axis of 1, 3 or 4 as channels).
MIN_VIDEO_SIDE = 8


def clock(seconds: float) -> str:
    """h:mm:ss, to the second: "3.0 h" against a "3.0 h" limit would not say what is wrong."""
    whole = int(math.ceil(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def too_long(what: str, seconds: float, cfg: ProcessorConfig) -> MediaTooLargeError:
    return MediaTooLargeError(f"The {what} lasts {clock(seconds)}; the limit is {clock(cfg.max_duration_s)} "
                              f"(h:mm:ss). Cut it shorter to attach it.")


def image_cost(width: int, height: int, cfg: ProcessorConfig) -> tuple[tuple[int, int], int]:
    """(resized (h, w), tokens) of a picture of this (upright) size."""
    rules.check_pixels(width, height, cfg.max_image_pixels)
    resized = rules.smart_resize(height, width, cfg.factor, cfg.image_min_pixels, cfg.image_max_pixels)
    return resized, rules.image_token_count(resized, cfg.patch_size, cfg.merge_size)


@dataclass(frozen=True)
class VideoPlan:
    indices: tuple[int, ...]  # frames to decode (sorted; may repeat)
    resized: tuple[int, int]  # (height, width) every frame is scaled to
    groups: int  # temporal groups of temporal_patch_size frames
    tokens_per_group: int  # video pads per group
    # Frames may be handed to vLLM already at ``resized`` only if vLLM's rule maps that
    # size to itself; near the minimum pixel count it may not (it would grow them again).
    prescale_safe: bool = True

    @property
    def num_frames(self) -> int:
        return len(self.indices)


def plan_video(width: int, height: int, total_frames: int, fps: float, cfg: ProcessorConfig) -> VideoPlan:
    rules.check_video_frames(total_frames, fps)
    if min(width, height) < MIN_VIDEO_SIDE:
        raise UnsupportedMediaError(f"The video is only {width}×{height} pixels; too small to look at.")
    if total_frames / fps > cfg.max_duration_s:
        raise too_long("video", total_frames / fps, cfg)
    count = rules.sample_frame_count(
        total_frames, fps, cfg.frame_factor, fps=cfg.fps, num_frames=cfg.num_frames,
        min_frames=cfg.min_frames, max_frames=cfg.max_frames,
    )
    indices = rules.sample_frame_indices(total_frames, count)
    cap = rules.video_max_pixels(count, cfg.video_min_pixels, cfg.video_max_pixels,
                                 cfg.video_total_max_pixels, cfg.frame_factor)
    resized = rules.smart_resize(height, width, cfg.factor, cfg.video_min_pixels, cap)
    per_group = (resized[0] // cfg.patch_size) * (resized[1] // cfg.patch_size) // cfg.merge_size**2
    groups = math.ceil(count / cfg.frame_factor)
    fixed = rules.smart_resize(resized[0], resized[1], cfg.factor, cfg.video_min_pixels, cap) == resized
    return VideoPlan(tuple(indices), resized, groups, per_group, prescale_safe=fixed)


def token_timestamps(plan: VideoPlan, frame_times: Sequence[float] | None, cfg: ProcessorConfig) -> list[float]:
    """The times vLLM writes before each group (its prompt update: ``start + j * seconds_per_group``).

    vLLM keeps them as float32 tensors, so we round through float32 too: a time
    that lands on a whole second must format the same way here and there.
    """
    if not cfg.vllm_keeps_video_timestamps or frame_times is None or len(frame_times) < 2:
        # vLLM drops the timestamps of a tensor video and numbers its frames 1 s apart
        times = [0.0, 1.0]
    else:
        times = [float(np.float32(frame_times[0])), float(np.float32(frame_times[1]))]
    if times[1] <= times[0]:
        times = [times[0], times[0] + 1.0]  # the reference would divide by zero here
    # the same float steps as MiMoVLProcessor.process_video and the prompt update
    fps_sampled = 1.0 / (times[1] - times[0])
    start = times[0]
    per_group = float(np.float32(cfg.temporal_patch_size / fps_sampled))
    return rules.video_group_timestamps(plan.groups, start, per_group)


def video_tokens(plan: VideoPlan, frame_times: Sequence[float] | None, cfg: ProcessorConfig) -> tuple[int, list[str]]:
    texts = [rules.format_timestamp(t) for t in token_timestamps(plan, frame_times, cfg)]
    return rules.video_token_count(plan.groups, plan.tokens_per_group, texts, cfg.count_text), texts


def audio_tokens(samples_at_model_rate: int, cfg: ProcessorConfig) -> int:
    """Tokens an audio item adds: the formula's count plus its start and end tokens."""
    seconds = samples_at_model_rate / cfg.audio_sampling_rate
    if samples_at_model_rate <= 0:
        raise EmptyMediaError("The audio has no samples.")
    if seconds < MIN_AUDIO_SECONDS:
        raise EmptyMediaError(f"The audio lasts {seconds:.2f} s; at least {MIN_AUDIO_SECONDS} s is needed.")
    if seconds > cfg.max_duration_s:
        raise too_long("audio", seconds, cfg)
    frames = rules.mel_frame_count(samples_at_model_rate, cfg.audio_hop_length)
    return 2 + rules.audio_token_count_from_frames(
        frames, cfg.audio_kernel_size, cfg.audio_stride_size, cfg.audio_avg_pooler, cfg.audio_group_size
    )


def audio_samples_at_model_rate(samples: int, rate: int, cfg: ProcessorConfig) -> int:
    return rules.resampled_length(samples, rate, cfg.audio_sampling_rate)
