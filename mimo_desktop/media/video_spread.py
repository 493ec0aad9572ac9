"""Sampled video frames decoded on several threads at once, one decoder per run of GOPs.

A group of pictures (from one keyframe to the next) decodes on its own. torchcodec seeks
to a keyframe whenever the next wanted frame lies past the next keyframe, so cutting the
sorted frame list at keyframes and handing each run of GOPs to its own decoder repeats
exactly the seeks one decoder makes: the same frames come out, and each decoder can run
single-threaded. FFmpeg's frame threading, on one decoder, keeps threads waiting on each
other and drains its pipeline at every seek; separate GOPs need no waiting at all.

H.264 runs are decoded packet by packet instead (``video_packets``: unwanted non-reference
pictures are not decoded at all). torchcodec releases the GIL while it decodes, so plain threads suffice. Imports torch and
torchcodec: only ``decode_av`` imports this module.
"""

from __future__ import annotations

import bisect
import concurrent.futures as futures
import threading
from collections.abc import Callable
from typing import Any

import torch
from torchcodec.decoders import Demuxer, VideoDecoder

from mimo_desktop.media import spill
from mimo_desktop.media.errors import PreparationStopped

Source = str | bytes


def frame_times(source: Source) -> Any:
    """Every frame's pts and the keyframes (``video_packets.FrameTimes``: a scan of the packets, no
    decoding), or None if unknown."""
    from mimo_desktop.media.video_packets import FrameTimes

    try:
        return FrameTimes(Demuxer(source, streams="video").streams[0].scan())
    except Exception:  # any doubt: the caller decodes with one decoder, as before
        return None


def key_frames(source: Source) -> list[int] | None:
    """Frame numbers of the keyframes, or None if unknown."""
    times = frame_times(source)
    return times.keys if times is not None else None


def split_at_key_frames(indices: list[int], keys: list[int], parts: int) -> list[tuple[int, int]]:
    """Cut sorted ``indices`` into at most ``parts`` (start, end) runs, only where a GOP
    begins, each run about the same number of frames to decode (keyframe to last wanted)."""
    if parts <= 1 or len(keys) <= 1 or not indices:
        return [(0, len(indices))]
    groups: list[tuple[int, int, int]] = []  # (start, end, frames to decode)
    for pos, index in enumerate(indices):
        key = keys[max(0, bisect.bisect_right(keys, index) - 1)]
        if groups and groups[-1][2] == key:
            groups[-1] = (groups[-1][0], pos + 1, key)
        else:
            groups.append((pos, pos + 1, key))
    work = [indices[end - 1] - key + 1 for _, end, key in groups]
    parts = min(parts, len(groups))
    total, done, runs, start = sum(work), 0, [], 0
    for g, (_, end, _) in enumerate(groups):
        done += work[g]
        if len(runs) < parts - 1 and done >= total * (len(runs) + 1) / parts and end < len(indices):
            runs.append((start, end))
            start = end
    runs.append((start, len(indices)))
    return runs


class FrameSink:
    """The preallocated T×H×W×C result (made at the first batch) and the frames' pts,
    filled by one or more decoders, each in its own part. A big result lives in a spill
    file (``spill``): each part, once written, leaves the process's memory."""

    def __init__(self, count: int, size: tuple[int, int] | None,
                 shrink_into: Callable[[torch.Tensor, torch.Tensor], None]) -> None:
        self.count, self.size, self._shrink_into = count, size, shrink_into
        self.out: torch.Tensor | None = None
        self._spill: spill._Spill | None = None
        self.times = torch.empty(count, dtype=torch.float64)
        self.done = 0
        self._lock = threading.Lock()

    def put(self, start: int, frames: Any) -> None:
        data = frames.data  # N×H×W×C
        with self._lock:
            if self.out is None:
                size = self.size
                shrink = size is not None and size[0] * size[1] < data.shape[1] * data.shape[2]
                shape = tuple(size) if shrink else tuple(data.shape[1:3])
                shape = (self.count, *shape, data.shape[3])
                self.out = spill.empty(shape)
                if self.out is None:
                    self.out = torch.empty(shape, dtype=torch.uint8)
                self._spill = spill.of(self.out)
        out = self.out
        end = start + data.shape[0]
        if tuple(data.shape[1:3]) != tuple(out.shape[1:3]):
            self._shrink_into(data.permute(0, 3, 1, 2), out[start:end].permute(0, 3, 1, 2))
        else:
            out[start:end] = data
        self.times[start:end] = frames.pts_seconds.to(torch.float64)
        if self._spill is not None:
            frame = out[0].numel()
            self._spill.written(start * frame, end * frame)
        with self._lock:
            self.done += data.shape[0]


def decode_run(decoder: VideoDecoder, indices: list[int], start: int, end: int, chunk: int, sink: FrameSink,
               stop: Any, after_chunk: Callable[[], None] | None = None) -> None:
    """``indices[start:end]`` a chunk at a time into ``sink`` (full-size frames never pile up);
    ``stop``: anything with ``is_set()``."""
    for low in range(start, end, chunk):
        if stop is not None and stop.is_set():  # a long video must not hold the app's closing hostage
            raise PreparationStopped("Preparing the video was stopped.")
        sink.put(low, decoder.get_frames_at(indices[low:min(end, low + chunk)]))
        if after_chunk is not None:
            after_chunk()


def decode_spread(make_decoder: Callable[[int], VideoDecoder], indices: list[int], runs: list[tuple[int, int]],
                  threads: int, chunk: int, sink: FrameSink, stop: threading.Event | None,
                  progress: Any = None, decode_packets: Callable[[int, int, Any], None] | None = None) -> None:
    """One decoder (``make_decoder(ffmpeg_threads)``) per run, on its own thread; progress and
    the first error are reported on the calling thread, and a failure stops the others.
    ``decode_packets(start, end, stop)``, if given, decodes a run instead (``video_packets``)."""
    halt = threading.Event()
    per_decoder = max(1, threads // len(runs))
    per_chunk = max(1, chunk // len(runs))  # the same bound on full-size frames held at once

    def work(run: tuple[int, int]) -> None:
        if decode_packets is not None:
            try:
                decode_packets(run[0], run[1], either)
                return
            except PreparationStopped:
                raise
            except Exception:  # a packet the codec refuses: VideoDecoder, which FFmpeg lets conceal it
                if either.is_set():
                    raise
        decode_run(make_decoder(per_decoder), indices, run[0], run[1], per_chunk, sink, either)

    either = _Either(halt, stop)
    try:
        with futures.ThreadPoolExecutor(len(runs), thread_name_prefix="video-decode") as pool:
            pending = {pool.submit(work, run) for run in runs}
            while pending:
                finished, pending = futures.wait(pending, timeout=0.2, return_when=futures.FIRST_EXCEPTION)
                for job in finished:
                    if job.exception() is not None:
                        halt.set()  # the others stop at their next chunk
                        raise job.exception()
                if progress is not None:
                    progress(sink.done / max(1, len(indices)))
    finally:
        halt.set()
    if stop is not None and stop.is_set():
        raise PreparationStopped("Preparing the video was stopped.")


class _Either:
    """Set when either event is: the caller's stop, or a sibling decoder's failure."""

    def __init__(self, first: threading.Event, second: threading.Event | None) -> None:
        self._events = [e for e in (first, second) if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)
