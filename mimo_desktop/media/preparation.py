"""``prepare``: a file (or bytes) in, a measured ``PreparedMedia`` out, ready for either engine.

Heavy: decodes pixels and sound (Pillow, torchcodec, torchaudio). Run it on a
worker thread, never on the GUI thread or the engine loop.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mimo_desktop.media import openai_parts, plan
from mimo_desktop.media.config import ProcessorConfig, default_config
from mimo_desktop.media.decode_image import decode_image, read_image_header
from mimo_desktop.media.errors import (
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    PreparationStopped,
    UnreadableMediaError,
    UnsupportedMediaError,
)
from mimo_desktop.media.prepared import PreparedMedia
from mimo_desktop.media.sniff import HEADER_BYTES, Sniffed, sniff

SourceLike = str | Path | bytes | bytearray | memoryview
ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class OpenedSource:
    """A checked file (or bytes): its head for sniffing, and how decoders should read it.

    A file is never read whole into memory: FFmpeg reads it from disk, the hash streams.
    """

    path: Path | None
    data: bytes | None  # only for a bytes source
    size: int
    head: bytes

    @property
    def av(self) -> str | bytes:
        """What torchcodec opens: the path, or the bytes."""
        return str(self.path) if self.path is not None else self.data  # type: ignore[return-value]

    def read(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()  # type: ignore[union-attr]

    def sha256(self) -> str:
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        with open(self.path, "rb") as f:  # type: ignore[arg-type]
            return hashlib.file_digest(f, "sha256").hexdigest()


def open_source(source: SourceLike, cfg: ProcessorConfig) -> OpenedSource:
    """Refuse missing, empty and oversized files, reading only the first bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        opened = OpenedSource(None, data, len(data), data[:HEADER_BYTES])
    else:
        path = Path(source)
        try:
            if not path.exists():
                raise FileNotFoundError
            if path.is_dir():
                raise IsADirectoryError
            if not path.is_file():
                raise UnreadableMediaError(f"{path.name} is not a file.")
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(HEADER_BYTES)
        except FileNotFoundError:
            raise UnreadableMediaError(f"{path} does not exist.") from None
        except PermissionError:
            raise UnreadableMediaError(f"No permission to read {path}.") from None
        except IsADirectoryError:
            raise UnreadableMediaError(f"{path.name} is a folder, not a file.") from None
        except OSError as exc:
            raise UnreadableMediaError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        opened = OpenedSource(path, None, size, head)
    if opened.size == 0:
        raise EmptyMediaError("The file is empty (0 bytes).")
    if opened.size > cfg.max_file_bytes:
        name = f"{opened.path.name} is" if opened.path is not None else "The file is"
        raise MediaTooLargeError(
            f"{name} {opened.size / 1e9:.1f} GB; the limit is {cfg.max_file_bytes / 1e9:.1f} GB.")
    return opened


def read_source(source: SourceLike, cfg: ProcessorConfig) -> tuple[bytes, Path | None]:
    """The file's bytes (and its path), refusing missing, empty and oversized files (small files only)."""
    opened = open_source(source, cfg)
    try:
        return opened.read(), opened.path
    except OSError as exc:
        raise UnreadableMediaError(f"Cannot read {opened.path}: {exc.strerror or exc}.") from None


def prepare(source: SourceLike, config: ProcessorConfig | None = None,
            stop: threading.Event | None = None, progress: ProgressCallback | None = None,
            sha256: str | None = None) -> PreparedMedia:
    """Decode, measure and package one attachment; every failure is a ``MediaError``.

    Setting ``stop`` ends a long decode at its next chunk (``PreparationStopped``); ``progress``
    hears the fraction done. ``sha256``: the content hash when the caller already has it."""
    cfg = config or default_config()
    src = open_source(source, cfg)
    sniffed = sniff(src.head)
    try:
        digest = sha256 or src.sha256()
    except OSError as exc:
        raise UnreadableMediaError(f"Cannot read {src.path}: {exc.strerror or exc}.") from None
    from mimo_desktop.media.cache import settings_key

    common = {"source": src.path, "sha256": digest, "estimate": cfg.estimate, "settings": settings_key(cfg)}
    if sniffed.kind == "image":
        return _prepare_image(read_source(source, cfg)[0], sniffed, cfg, common)
    from mimo_desktop.media import decode_av

    if sniffed.kind == "audiovisual":
        info = decode_av.probe_video(src.av)
        if info is not None:
            return _prepare_video(src, sniffed, info, cfg, common, stop, progress)
        if decode_av.probe_audio(src.av) is None:
            raise EmptyMediaError(f"The {sniffed.format.upper()} file holds neither pictures nor sound.")
    return _prepare_audio(src, sniffed, cfg, common, stop=stop, progress=progress)


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


def _prepare_video(src: OpenedSource, sniffed: Sniffed, info, cfg: ProcessorConfig, common: dict,
                   stop: threading.Event | None = None, progress: ProgressCallback | None = None) -> PreparedMedia:
    from mimo_desktop.media import decode_av

    width, height = info.display_size
    video_plan = plan.plan_video(width, height, info.num_frames, info.fps, cfg)
    shrink_to = video_plan.resized if video_plan.prescale_safe else None
    has_sound = cfg.include_video_audio and decode_av.probe_audio(src.av) is not None
    # pictures are most of the work; the sound track the rest
    picture_share = 0.8 if has_sound else 1.0
    frames, times, _ = decode_av.decode_frames(src.av, list(video_plan.indices), shrink_to, stop,
                                               _scaled(progress, 0.0, picture_share))
    tokens, texts = plan.video_tokens(video_plan, times.tolist(), cfg)
    audio_track = None
    if has_sound:
        audio_track = _audio_track(src, cfg, stop, _scaled(progress, picture_share, 1.0))
    path, data = src.path, src.data
    return PreparedMedia(
        kind="video", tokens=tokens, vllm_data=(frames, times),
        openai_part=openai_parts.LazyPart(lambda: openai_parts.video_part(sniffed.mime, path, data)),
        resized=video_plan.resized, timestamps=tuple(round(float(t), 3) for t in times),
        duration_s=info.duration_s, audio_track=audio_track,
        details={"format": sniffed.format, "codec": info.codec, "width": width, "height": height,
                 "fps": info.fps, "source_frames": info.num_frames, "frames": video_plan.num_frames,
                 "groups": video_plan.groups, "token_timestamps": texts, "bytes": src.size, "mime": sniffed.mime},
        **common,
    )


def _scaled(progress: ProgressCallback | None, low: float, high: float) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda fraction: progress(low + (high - low) * min(1.0, max(0.0, fraction)))


def _audio_track(src: OpenedSource, cfg: ProcessorConfig, stop: threading.Event | None = None,
                 progress: ProgressCallback | None = None) -> PreparedMedia | None:
    """The sound of a video as its own audio item; a broken or too short track is simply left out."""
    try:
        sniffed = Sniffed("audio", "track", "audio/wav")
        track = _prepare_audio(src, sniffed, cfg, {"estimate": cfg.estimate}, keep_original=False,
                               stop=stop, progress=progress)
    except PreparationStopped:
        raise
    except MediaError:
        return None
    return replace(track, details={**track.details, "from_video": True})


def _prepare_audio(
    src: OpenedSource, sniffed: Sniffed, cfg: ProcessorConfig, common: dict, keep_original: bool = True,
    stop: threading.Event | None = None, progress: ProgressCallback | None = None,
) -> PreparedMedia:
    from mimo_desktop.media import decode_av

    info = decode_av.probe_audio(src.av)
    if info is None:
        raise UnsupportedMediaError("The file has no sound that can be decoded.")
    if info.duration_s > cfg.max_duration_s:  # refuse before decoding hours of samples
        raise plan.too_long("audio", info.duration_s, cfg)
    mono, decoded = decode_av.decode_audio_to_rate(src.av, cfg.audio_sampling_rate, cfg.max_duration_s,
                                                   stop, progress)
    tokens = plan.audio_tokens(len(mono), cfg)  # too short or too long: refused here
    path = src.path if keep_original else None
    original = src.data if keep_original else None
    return PreparedMedia(
        kind="audio", tokens=tokens, vllm_data=(mono, cfg.audio_sampling_rate),
        openai_part=openai_parts.LazyPart(
            lambda: openai_parts.audio_part(path, original, sniffed.format, mono, cfg.audio_sampling_rate)),
        duration_s=decoded.duration_s,
        details={"format": sniffed.format, "sample_rate": decoded.sample_rate, "channels": decoded.channels,
                 "samples": len(mono), "bytes": src.size},
        **common,
    )
