"""Video and sound with torchcodec (FFmpeg): probe, seek to the sampled frames, decode audio.

Imports torch/torchcodec: only import this module when a file is actually opened.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torchcodec.decoders import AudioDecoder, VideoDecoder

from mimo_desktop.media.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    PreparationStopped,
    UnsupportedMediaError,
)
from mimo_desktop.media.memory import keep_heap_small

Source = str | bytes

keep_heap_small()  # before the first frame is decoded: big buffers go back to the system when freed

# Cover art in MP3/M4A/FLAC shows up as a one-frame "video" stream in these codecs.
_STILL_CODECS = {"mjpeg", "png", "bmp", "gif", "webp", "tiff"}


def _ffmpeg_threads() -> int:
    """Every core this process may use, up to 16 (on a 16-core H200 host 16 beat 8: docs/benchmarks.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 16))


# torchcodec prefixes FFmpeg's words with "Function, /path/to/file.cpp:123, ".
_SOURCE_PREFIX = re.compile(r"^(?:[\w:]+, )?/\S+:\d+, ")


def _ffmpeg_words(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _SOURCE_PREFIX.sub("", text)[:160].rstrip(". ")


def explain_ffmpeg_error(exc: Exception, what: str) -> MediaError:
    """Turn a torchcodec/FFmpeg exception into a sentence for the user."""
    words = _ffmpeg_words(exc)
    low = words.lower()
    if _no_stream(exc):
        return UnsupportedMediaError(f"The file has no {what} stream.")
    if "decoder not found" in low or "codec not" in low or "unsupported codec" in low or "no codec" in low:
        return UnsupportedMediaError(f"The {what} uses a codec this FFmpeg build cannot decode ({words}).")
    if "no more frames" in low or "end of file" in low:
        return CorruptMediaError(f"The {what} file is cut short ({words}).")
    return CorruptMediaError(f"The {what} file is damaged ({words}).")


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    num_frames: int
    duration_s: float
    codec: str
    start_s: float
    rotation: int = 0  # degrees the player turns the picture (phone videos)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as the video is shown: torchcodec already reports and decodes it turned."""
        return self.width, self.height


def _video_decoder(source: Source, dimension_order: str = "NCHW", threads: int | None = None) -> VideoDecoder:
    # approximate mode trusts the container index: no scan of the whole file
    return VideoDecoder(source, seek_mode="approximate", num_ffmpeg_threads=threads or _ffmpeg_threads(),
                        dimension_order=dimension_order)


def _no_stream(exc: Exception) -> bool:
    low = str(exc).lower()
    return "no valid stream" in low or "no video" in low or "no audio" in low or "stream is unknown" in low


def probe_video(source: Source) -> VideoInfo | None:
    """Facts about the best video stream, or None when there is none (or only cover art)."""
    try:
        decoder = _video_decoder(source)
    except Exception as exc:  # as above
        if _no_stream(exc):
            return None
        raise explain_ffmpeg_error(exc, "video") from None
    return _info(decoder)


def _info(decoder: VideoDecoder) -> VideoInfo | None:
    meta = decoder.metadata
    codec = (meta.codec or "").lower()
    fps = float(meta.average_fps or 0.0)
    duration = float(meta.duration_seconds or 0.0)
    frames = int(meta.num_frames or 0)
    if frames <= 0 and duration > 0 and fps > 0:
        frames = int(round(duration * fps))
    if codec in _STILL_CODECS and frames <= 1:
        return None
    if duration <= 0 and fps > 0:
        duration = frames / fps
    start = float(getattr(meta, "begin_stream_seconds", 0.0) or 0.0)
    rotation = int(round(float(getattr(meta, "rotation", 0) or 0))) % 360
    return VideoInfo(int(meta.width or 0), int(meta.height or 0), fps, frames, duration, codec,
                     start if math.isfinite(start) else 0.0, rotation)


def decode_frames(
    source: Source, indices: list[int], size: tuple[int, int] | None, stop: threading.Event | None = None,
    progress: Any = None,
) -> tuple[torch.Tensor, torch.Tensor, VideoInfo]:
    """Seek to ``indices`` (sorted, repeats allowed) -> (T×C×H×W uint8, timestamps s, info).

    Frames the model wants smaller than stored are scaled down to ``size`` right
    away (hours of full-HD frames would not fit in memory). vLLM then finds them at
    the size its own rule picks (that size is a fixed point of the rule), so its
    resize does nothing and the token count cannot drift; frames kept at their
    stored size (or all frames, when ``size`` is None) get exactly the planned
    size from vLLM's rule too.
    """
    try:
        # No decoder-side Resize: torchcodec applies it to every decoded frame,
        # not only to the returned ones, which measured ~1.7x slower here.
        # NHWC: what torchcodec's colour conversion writes; its NCHW is a permuted view of it, and
        # copying that view into a contiguous T×C×H×W tensor cost ~10 ms a 1080p frame here.
        decoder = _video_decoder(source, "NHWC")
        info = _info(decoder)
        if info is None:
            raise UnsupportedMediaError("The file has no video stream.")
        frames, times = _decode_in_chunks(decoder, indices, size, stop, progress, source)
    except (MediaError, ImportError):  # a missing module is the installation's fault, not a damaged file
        raise
    except Exception as exc:  # torchcodec surfaces FFmpeg failures as assorted exception types
        raise explain_ffmpeg_error(exc, "video") from None
    if frames.shape[0] == 0:
        raise EmptyMediaError("The video has no frames that can be decoded.")
    timestamps = (times.to(torch.float64) - info.start_s).clamp(min=0).to(torch.float32)
    return frames, timestamps, info


# On few cores, more runs of GOPs than threads, all decoding at once: the system shares the cores between
# them, so runs of unequal length (GOPs are the unit) still keep every core busy to the end (2 cores: 2 runs a
# thread, 8.5 -> 7.3 s). From 8 cores on, one run a thread was faster (16-core host: 1.47 vs 1.53 s).
_RUNS_PER_THREAD: int | None = None  # None: as just said; a number: that many (tests, bench/media_host.py)


def _runs_per_thread(threads: int) -> int:
    if _RUNS_PER_THREAD is not None:
        return _RUNS_PER_THREAD
    return 2 if threads < 8 else 1
# H.264 runs go through ``video_packets``: unwanted non-reference pictures are not decoded at all.
_SKIP_UNREFERENCED = True

# Decoders side by side hold at most ~768 MB of pictures: ~12 YUV 4:2:0 pictures each (references, the
# ones in flight); 1080p allows 20 runs, 4K 5 (measured on 1080p: 16 decoders ~100 MB more than 4).
_DECODERS_BYTES = 768 * 1024**2
_DECODER_FRAMES = 12

# Full-size frames held at once before shrinking: ~10 frames of 1080p (bounded peak for any video).
_CHUNK_BYTES = 64 * 1024**2


def _decode_in_chunks(
    decoder: VideoDecoder, indices: list[int], size: tuple[int, int] | None, stop: threading.Event | None = None,
    progress: Any = None, source: Source | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A chunk of frames at a time, each shrunk at once into one preallocated tensor: full-size
    frames never pile up, and the result is never concatenated (which would hold it twice).

    The decoder gives N×H×W×C frames; the result is held the same way and returned as a
    T×C×H×W view of it (the layout torchcodec itself returns for NCHW), so frames at their
    stored size are copied once, contiguously. With ``source`` and more than one GOP to visit,
    runs of GOPs are decoded side by side, one decoder each (``video_spread``)."""
    from mimo_desktop.media import video_spread

    meta = decoder.metadata
    chunk = max(1, _CHUNK_BYTES // max(1, 3 * (meta.width or 1) * (meta.height or 1)))
    sink = video_spread.FrameSink(len(indices), size, _shrink_into)
    threads = _ffmpeg_threads()
    scan = video_spread.frame_times(source) if source is not None and threads > 1 and len(indices) > 1 else None
    # each decoder keeps its own reference pictures: on many cores, 4K runs are bounded by memory, not cores
    most = max(1, _DECODERS_BYTES // max(1, _DECODER_FRAMES * 3 // 2 * (meta.width or 1) * (meta.height or 1)))
    runs = video_spread.split_at_key_frames(indices, scan.keys if scan else [],
                                            min(threads * _runs_per_thread(threads), most))
    if len(runs) > 1:
        from mimo_desktop.media import video_packets

        fps = float(meta.average_fps or 0.0)
        packets = None
        if _SKIP_UNREFERENCED and video_packets.usable((meta.codec or "").lower(), scan, int(meta.num_frames or 0),
                                                       fps, source):
            packets = lambda start, end, halt: video_packets.decode_run(  # noqa: E731
                source, scan, fps, indices, start, end, sink, halt)

        video_spread.decode_spread(lambda n: _video_decoder(source, "NHWC", n), indices, runs, threads, chunk,
                                   sink, stop, progress, packets)
    else:
        def report() -> None:
            if progress is not None:
                progress(sink.done / max(1, len(indices)))

        video_spread.decode_run(decoder, indices, 0, len(indices), chunk, sink, stop, report)
    if sink.out is None:
        return torch.empty((0, 3, 0, 0), dtype=torch.uint8), torch.empty(0)
    return sink.out.permute(0, 3, 1, 2), sink.times


_SHRINK_BATCH = 2  # frames converted to float at once: 2 of 1080p are ~50 MB (their antialiased pass as much)


def _shrink_into(frames: torch.Tensor, out: torch.Tensor) -> None:
    import torch.nn.functional as F

    size = tuple(out.shape[-2:])
    for start in range(0, frames.shape[0], _SHRINK_BATCH):
        # contiguous float, whatever the input's layout: the same arithmetic (and pixels) for every caller
        part = frames[start:start + _SHRINK_BATCH].to(torch.float32, memory_format=torch.contiguous_format)
        scaled = F.interpolate(part, size=size, mode="bilinear", align_corners=False, antialias=True)
        out[start:start + part.shape[0]] = scaled.round_().clamp_(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    duration_s: float
    codec: str


def probe_audio(source: Source) -> AudioInfo | None:
    try:
        decoder = AudioDecoder(source)
    except Exception as exc:  # as above
        if _no_stream(exc):
            return None
        raise explain_ffmpeg_error(exc, "audio") from None
    meta = decoder.metadata
    return AudioInfo(int(meta.sample_rate or 0), int(meta.num_channels or 0),
                     float(meta.duration_seconds_from_header or meta.duration_seconds or 0.0),
                     (meta.codec or "").lower())


AUDIO_CHUNK_S = 60.0  # decoded at a time: 60 s of 48 kHz stereo float32 is 23 MB


def decode_audio_to_rate(source: Source, target: int, max_seconds: float | None = None,
                         stop: threading.Event | None = None, progress: Any = None) -> tuple[np.ndarray, AudioInfo]:
    """The best audio stream as mono float32 at ``target`` Hz, decoded a minute at a time.

    Only the result is ever held whole (3 h at 24 kHz: 1 GB); each decoded minute is resampled
    (``resample.StreamResampler``) and dropped. With ``max_seconds``, decoding stops just past
    that length and a longer stream is refused: a header can lie about the duration (an MP3
    without a Xing header is measured from its first frame's bitrate). ``progress(fraction)`` is
    called after each chunk; setting ``stop`` ends it with ``PreparationStopped``.
    """
    from mimo_desktop.media.resample import StreamResampler

    info = probe_audio(source)
    if info is None:
        raise UnsupportedMediaError("The file has no sound that can be decoded.")
    try:
        decoder = AudioDecoder(source)
    except Exception as exc:  # as above
        raise explain_ffmpeg_error(exc, "audio") from None
    expected = max(1.0, info.duration_s)
    out = _Growable(int(expected * target * 1.01) + target)
    stream: StreamResampler | None = None
    taken, start = 0, 0.0
    while True:
        if stop is not None and stop.is_set():
            raise PreparationStopped("Preparing the sound was stopped.")
        chunk = _audio_chunk(decoder, start, start + AUDIO_CHUNK_S)
        if chunk is None:
            break
        data, rate = chunk
        if stream is None:
            stream = StreamResampler(rate, target, data.shape[0])
        taken += data.shape[-1]
        if max_seconds is not None and taken > max_seconds * rate:
            raise MediaTooLargeError(f"The audio lasts longer than its header says, past the "
                                     f"{max_seconds / 3600:.1f} h limit.")
        out.extend(stream.push(data))
        start += AUDIO_CHUNK_S
        if progress is not None:
            progress(min(1.0, start / expected))
    if stream is None or taken == 0:
        raise EmptyMediaError("The audio has no samples.")
    out.extend(stream.finish())
    return out.result(), AudioInfo(stream.rate, stream.channels, taken / stream.rate, info.codec)


def _audio_chunk(decoder: AudioDecoder, start: float, stop: float) -> tuple[torch.Tensor, int] | None:
    try:
        samples = decoder.get_samples_played_in_range(start, stop)
    except RuntimeError as exc:
        if "no audio frames were decoded" in str(exc).lower():
            return None  # past the end
        raise explain_ffmpeg_error(exc, "audio") from None
    except Exception as exc:  # as above
        raise explain_ffmpeg_error(exc, "audio") from None
    data = samples.data
    if data.numel() == 0:
        return None
    if not np.isfinite(data.numpy()).all():  # numpy's check: ~50x faster than torch.isfinite here
        data = torch.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    return data, int(samples.sample_rate)


class _Growable:
    """A float32 array filled in place: no list of chunks to concatenate (that would double the peak)."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(1, capacity), np.float32)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self._size + values.shape[0]
        if end > self._data.shape[0]:  # the header was short of the truth: grow by half
            grown = np.empty(max(end, int(self._data.shape[0] * 1.5)), np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size:end] = values
        self._size = end

    def result(self) -> np.ndarray:
        if self._data.shape[0] - self._size > 1_000_000:  # give the unused tail back, in place (realloc)
            self._data.resize(self._size, refcheck=False)
            return self._data
        return self._data[: self._size]


def to_numpy_mono(wave: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(wave.detach().cpu().numpy().astype(np.float32, copy=False))
