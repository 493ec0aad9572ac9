"""``prepare``: a file (or bytes) in, a measured ``PreparedMedia`` out, ready for either engine.

Heavy: decodes pixels and sound (Pillow, torchcodec, torchaudio). Run it on a
worker thread, never on the GUI thread or the engine loop.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import replace
from pathlib import Path

from mimo_desktop.media import openai_parts, plan
from mimo_desktop.media.config import ProcessorConfig, default_config
from mimo_desktop.media.decode_image import decode_image, read_image_header
from mimo_desktop.media.errors import (
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    UnreadableMediaError,
    UnsupportedMediaError,
)
from mimo_desktop.media.prepared import PreparedMedia
from mimo_desktop.media.sniff import HEADER_BYTES, Sniffed, sniff

SourceLike = str | Path | bytes | bytearray | memoryview


def read_source(source: SourceLike, cfg: ProcessorConfig) -> tuple[bytes, Path | None]:
    """The file's bytes (and its path), refusing missing, empty and oversized files."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, path = bytes(source), None
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise UnreadableMediaError(f"{path.name} is not a file.")
            if size > cfg.max_file_bytes:
                raise MediaTooLargeError(
                    f"{path.name} is {size / 1e9:.1f} GB; the limit is {cfg.max_file_bytes / 1e9:.1f} GB."
                )
            data = path.read_bytes()
        except FileNotFoundError:
            raise UnreadableMediaError(f"{path} does not exist.") from None
        except PermissionError:
            raise UnreadableMediaError(f"No permission to read {path}.") from None
        except IsADirectoryError:
            raise UnreadableMediaError(f"{path.name} is a folder, not a file.") from None
        except OSError as exc:
            raise UnreadableMediaError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not data:
        raise EmptyMediaError("The file is empty (0 bytes).")
    if len(data) > cfg.max_file_bytes:
        raise MediaTooLargeError(f"The file is {len(data) / 1e9:.1f} GB; the limit is {cfg.max_file_bytes / 1e9:.1f} GB.")
    return data, path


def prepare(source: SourceLike, config: ProcessorConfig | None = None,
            stop: threading.Event | None = None) -> PreparedMedia:
    """Decode, measure and package one attachment; every failure is a ``MediaError``.

    Setting ``stop`` ends a long video decode at its next chunk (``PreparationStopped``)."""
    cfg = config or default_config()
    data, path = read_source(source, cfg)
    sniffed = sniff(data[:HEADER_BYTES])
    common = {"source": path, "sha256": hashlib.sha256(data).hexdigest(), "estimate": cfg.estimate}
    if sniffed.kind == "image":
        return _prepare_image(data, sniffed, cfg, common)
    from mimo_desktop.media import decode_av

    if sniffed.kind == "audiovisual":
        info = decode_av.probe_video(data)
        if info is not None:
            return _prepare_video(data, sniffed, info, cfg, common, stop)
        if decode_av.probe_audio(data) is None:
            raise EmptyMediaError(f"The {sniffed.format.upper()} file holds neither pictures nor sound.")
    return _prepare_audio(data, sniffed, cfg, common)


def _prepare_image(data: bytes, sniffed: Sniffed, cfg: ProcessorConfig, common: dict) -> PreparedMedia:
    header = read_image_header(data, cfg.max_image_pixels)
    resized, tokens = plan.image_cost(header.width, header.height, cfg)
    rgb = decode_image(data, cfg.max_image_pixels)
    plain = header.orientation == 1 and header.mode == "RGB"
    return PreparedMedia(
        kind="image", tokens=tokens, vllm_data=rgb,
        openai_part=openai_parts.LazyPart(
            lambda: openai_parts.image_part(data, sniffed.format, sniffed.mime, rgb, upright=plain)),
        resized=resized,
        details={"format": sniffed.format, "width": rgb.width, "height": rgb.height, "mode": header.mode,
                 "frames": header.frames, "bytes": len(data)},
        **common,
    )


def _prepare_video(data: bytes, sniffed: Sniffed, info, cfg: ProcessorConfig, common: dict,
                   stop: threading.Event | None = None) -> PreparedMedia:
    from mimo_desktop.media import decode_av

    width, height = info.display_size
    video_plan = plan.plan_video(width, height, info.num_frames, info.fps, cfg)
    shrink_to = video_plan.resized if video_plan.prescale_safe else None
    frames, times, _ = decode_av.decode_frames(data, list(video_plan.indices), shrink_to, stop)
    tokens, texts = plan.video_tokens(video_plan, times.tolist(), cfg)
    audio_track = None
    if cfg.include_video_audio and decode_av.probe_audio(data) is not None:
        audio_track = _audio_track(data, cfg)
    return PreparedMedia(
        kind="video", tokens=tokens, vllm_data=(frames, times),
        openai_part=openai_parts.LazyPart(lambda: openai_parts.video_part(data, sniffed.mime)),
        resized=video_plan.resized, timestamps=tuple(round(float(t), 3) for t in times),
        duration_s=info.duration_s, audio_track=audio_track,
        details={"format": sniffed.format, "codec": info.codec, "width": width, "height": height,
                 "fps": info.fps, "source_frames": info.num_frames, "frames": video_plan.num_frames,
                 "groups": video_plan.groups, "token_timestamps": texts, "bytes": len(data)},
        **common,
    )


def _audio_track(data: bytes, cfg: ProcessorConfig) -> PreparedMedia | None:
    """The sound of a video as its own audio item; a broken or too short track is simply left out."""
    try:
        sniffed = Sniffed("audio", "track", "audio/wav")
        track = _prepare_audio(data, sniffed, cfg, {"estimate": cfg.estimate}, keep_original=False)
    except MediaError:
        return None
    return replace(track, details={**track.details, "from_video": True})


def _prepare_audio(
    data: bytes, sniffed: Sniffed, cfg: ProcessorConfig, common: dict, keep_original: bool = True
) -> PreparedMedia:
    from mimo_desktop.media import decode_av

    info = decode_av.probe_audio(data)
    if info is None:
        raise UnsupportedMediaError("The file has no sound that can be decoded.")
    if info.duration_s > cfg.max_duration_s:  # refuse before decoding hours of samples
        raise MediaTooLargeError(f"The audio lasts {info.duration_s / 3600:.1f} h; the limit is "
                                 f"{cfg.max_duration_s / 3600:.1f} h.")
    wave, rate = decode_av.decode_audio(data, cfg.max_duration_s)
    channels, samples = wave.shape
    plan.audio_tokens(plan.audio_samples_at_model_rate(samples, rate, cfg), cfg)  # too short: refuse now
    mono = decode_av.to_numpy_mono(_featurizer(cfg).to_model_rate(wave, rate))
    tokens = plan.audio_tokens(len(mono), cfg)
    original = data if keep_original else None
    return PreparedMedia(
        kind="audio", tokens=tokens, vllm_data=(mono, cfg.audio_sampling_rate),
        openai_part=openai_parts.LazyPart(
            lambda: openai_parts.audio_part(original, sniffed.format, mono, cfg.audio_sampling_rate)),
        duration_s=samples / rate,
        details={"format": sniffed.format, "sample_rate": rate, "channels": channels,
                 "samples": len(mono), "bytes": len(data)},
        **common,
    )


@functools.lru_cache(maxsize=4)
def _featurizer(cfg: ProcessorConfig):
    """One featurizer per config: its resampler kernels are worth keeping between files."""
    from mimo_desktop.media.tensors import AudioFeaturizer

    return AudioFeaturizer(cfg)
