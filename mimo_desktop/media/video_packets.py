"""A run of H.264 GOPs decoded packet by packet, leaving out the pictures no one needs.

With 2 samples a second from 30 fps, 28 of every 30 frames are decoded only to be dropped; in an
H.264 stream with B-frames about 40 % of them are *non-reference* pictures (``nal_ref_idc`` 0 in
every slice): no other picture is predicted from them, so not decoding one changes no other
picture (FFmpeg's ``-skip_frame noref`` relies on the same rule; its decoding CPU halves on the
benchmark clip). torchcodec 0.17 does not expose ``skip_frame``, so its packet API
(``Demuxer`` → ``VideoPacketDecoder`` → ``ColorConverter``) is fed only the packets that are
wanted or referenced. A packet's bytes are read through its handle, the ``AVPacket`` torchcodec
keeps in the handle tensor's storage (FFmpeg's public layout: ``pts`` at byte 8, ``data`` 24,
``size`` 32, ``stream_index`` 36); anything unexpected (another layout, Annex B start codes, a
parameter set, an unknown pts) means the packet is decoded, and ``usable`` refuses a stream whose
frame numbering could differ from ``VideoDecoder``'s approximate mode (variable frame rate).

Frames are bit-identical to ``VideoDecoder.get_frames_at`` (tested).
"""

from __future__ import annotations

import bisect
import ctypes
from collections.abc import Callable
from typing import Any

import torch
from torchcodec.decoders import Demuxer

from mimo_desktop.media.errors import PreparationStopped

_NO_PTS = -(2**63)
_SLICES = (1, 5)  # coded slice of a non-IDR / IDR picture
_PARAMETERS = (7, 8, 13, 15)  # SPS, PPS, SPS extension, subset SPS: always decoded


class FrameTimes:
    """Presentation times of every frame (the packet scan), for matching wanted frames by pts."""

    def __init__(self, index: Any) -> None:
        self.seconds = [float(t) for t in index.pts_seconds.tolist()]
        self.keys = [int(k) for k in index.key_frame_indices.tolist()]
        self.time_base = (int(index._time_base_num), int(index._time_base_den))


def usable(codec: str, times: FrameTimes | None, num_frames: int, fps: float, source: Any = None) -> bool:
    """Only H.264 at a constant frame rate, where frame ``i`` is the ``i``-th in presentation order
    for ``VideoDecoder``'s approximate mode too; with ``source``, its first packet must also read as
    the keyframe the scan found (the handle's layout is what this module expects)."""
    if codec != "h264" or times is None or fps <= 0 or len(times.seconds) != num_frames or num_frames < 2:
        return False
    steps = [b - a for a, b in zip(times.seconds, times.seconds[1:])]
    if not (min(steps) > 0 and max(steps) - min(steps) <= 0.01 / fps):
        return False
    return source is None or _layout_ok(source, times)


def _layout_ok(source: Any, times: FrameTimes) -> bool:
    try:
        packet = next(iter(Demuxer(source, streams="video")))
    except Exception:  # any doubt: VideoDecoder
        return False
    handle = packet._handle
    if handle.dtype != torch.int64 or handle.numel() != 8:
        return False
    at = handle.data_ptr()
    pts, size = ctypes.c_int64.from_address(at + 8).value, ctypes.c_int32.from_address(at + 32).value
    key = ctypes.c_int32.from_address(at + 40).value & 1  # AV_PKT_FLAG_KEY
    num, den = times.time_base
    first = times.seconds[times.keys[0]] if times.keys else None
    return bool(key) and 0 < size < 1 << 30 and first is not None and abs(pts * num / den - first) < 1e-3


def _packet(packet: Any) -> tuple[int, int, int] | None:
    """(pts, data address, size) of a torchcodec packet, or None when its handle is not as expected."""
    handle = packet._handle
    if handle.dtype != torch.int64 or handle.numel() != 8:
        return None
    at = handle.data_ptr()
    pts = ctypes.c_int64.from_address(at + 8).value
    data = ctypes.c_void_p.from_address(at + 24).value
    size = ctypes.c_int32.from_address(at + 32).value
    if ctypes.c_int32.from_address(at + 36).value != packet.stream_index or not data or size <= 0:
        return None
    return pts, data, size


def _non_reference(data: int, size: int) -> bool:
    """Every slice NAL of the packet (4-byte lengths, as in MP4/MKV) has ``nal_ref_idc`` 0."""
    offset, slices = 0, 0
    while offset < size:
        if offset + 5 > size:
            return False
        head = ctypes.string_at(data + offset, 5)
        length, kind, ref = int.from_bytes(head[:4], "big"), head[4] & 0x1F, head[4] >> 5 & 3
        if length == 0 or offset + 4 + length > size or kind in _PARAMETERS:
            return False
        if kind in _SLICES:
            if ref:
                return False
            slices += 1
        offset += 4 + length
    return slices > 0


class _Wanted:
    """The run's wanted frames by pts: output positions of each (repeats allowed)."""

    def __init__(self, times: FrameTimes, indices: list[int], start: int, end: int, fps: float) -> None:
        self.pts: list[float] = []
        self.positions: list[list[int]] = []
        for pos in range(start, end):
            t = times.seconds[indices[pos]]
            if self.pts and self.pts[-1] == t:
                self.positions[-1].append(pos)
            else:
                self.pts.append(t)
                self.positions.append([pos])
        self.tolerance = 0.25 / fps
        self.left = len(self.pts)

    def find(self, seconds: float) -> int | None:
        i = bisect.bisect_left(self.pts, seconds - self.tolerance)
        return i if i < len(self.pts) and abs(self.pts[i] - seconds) <= self.tolerance else None


def decode_run(source: Any, times: FrameTimes, fps: float, indices: list[int], start: int, end: int, sink: Any,
               stop: Any, after_frame: Callable[[], None] | None = None) -> None:
    """``indices[start:end]`` into ``sink``: from the run's first keyframe, packets in order, seeking
    where whole GOPs lie between wanted frames, skipping unwanted non-reference pictures."""
    from torchcodec.decoders._blocks import ColorConverter

    wanted = _Wanted(times, indices, start, end, fps)
    demuxer = Demuxer(source, streams="video")
    stream = demuxer.streams[0]
    decoder = stream.make_decoder(num_ffmpeg_threads=1)
    convert = ColorConverter()
    num, den = times.time_base
    done: set[int] = set()

    def take(raw_frames: list) -> None:
        for raw in raw_frames:
            slot = wanted.find(float(raw.pts_seconds))
            if slot is None or slot in done:
                continue
            done.add(slot)
            frame = convert.convert(raw)
            data = frame.data.permute(1, 2, 0).unsqueeze(0)  # H×W×C, as VideoDecoder's NHWC
            for pos in wanted.positions[slot]:
                sink.put(pos, _Batch(data, frame.pts_seconds))
            if after_frame is not None:
                after_frame()

    position, drained = None, False  # the GOP decoding is in (its keyframe)
    for slot in range(len(wanted.pts)):
        if slot in done:
            continue
        key = times.keys[max(0, bisect.bisect_right(times.keys, indices[wanted.positions[slot][0]]) - 1)]
        if position is None or _gop_between(times.keys, position, key):  # the seeks VideoDecoder makes
            if position is not None:
                take(decoder.drain())
                decoder.reset()
            demuxer.seek(times.seconds[key])
        position = key
        for packet in demuxer:
            if stop is not None and stop.is_set():
                raise PreparationStopped("Preparing the video was stopped.")
            info = _packet(packet)
            if info is not None and info[0] != _NO_PTS:
                if wanted.find(info[0] * num / den) is None and _non_reference(info[1], info[2]):
                    continue
            take(decoder.decode(packet))
            if slot in done:
                break
        else:  # the end of the stream: what the decoder still holds
            take(decoder.drain())
            drained = True
            break
    if len(done) < len(wanted.pts) and not drained:
        take(decoder.drain())
    if len(done) < len(wanted.pts):
        raise RuntimeError(f"{len(wanted.pts) - len(done)} sampled frames were not decoded")


def _gop_between(keys: list[int], position: int, key: int) -> bool:
    """Whether a whole GOP lies between the keyframe decoding is in and the one wanted next."""
    return bisect.bisect_left(keys, key) - bisect.bisect_left(keys, position) > 1


class _Batch:
    """What ``FrameSink.put`` reads of a decoded batch: N×H×W×C data and pts."""

    def __init__(self, data: torch.Tensor, pts: float) -> None:
        self.data = data
        self.pts_seconds = torch.tensor([pts], dtype=torch.float64)
