"""Sampled frames decoded by several decoders side by side, one per run of GOPs, equal
one decoder's frames and timestamps exactly (real files made with the ffmpeg CLI)."""

from __future__ import annotations

import threading

import pytest
import torch
from torchcodec.decoders import VideoDecoder

from mimo_desktop.media import decode_av, video_spread
from mimo_desktop.media.errors import PreparationStopped


def _one_decoder(path, indices):
    batch = VideoDecoder(str(path), seek_mode="approximate", num_ffmpeg_threads=1).get_frames_at(indices)
    return batch.data, batch.pts_seconds.to(torch.float64)


def test_runs_are_cut_only_where_a_gop_begins():
    keys = [0, 24, 48, 72, 96]
    indices = [0, 6, 12, 18, 24, 30, 36, 50, 60, 70, 80, 90, 100, 110]
    runs = video_spread.split_at_key_frames(indices, keys, 3)
    assert len(runs) == 3
    assert runs[0][0] == 0 and runs[-1][1] == len(indices)
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
    for start, _ in runs[1:]:  # each later run begins with the first wanted frame of a GOP
        before, first = indices[start - 1], indices[start]
        assert any(before < key <= first for key in keys)
    assert video_spread.split_at_key_frames(indices, keys, 1) == [(0, len(indices))]
    assert video_spread.split_at_key_frames([3, 9, 15], keys, 4) == [(0, 3)]  # one GOP: one run


def test_the_file_s_key_frames_are_read_from_its_packets(media_files):
    keys = video_spread.key_frames(str(media_files["long.mp4"]))  # 12 s at 12 fps, a keyframe every 24 frames
    assert keys is not None and keys[0] == 0 and len(keys) >= 6
    assert all(0 < b - a <= 24 for a, b in zip(keys, keys[1:]))  # x264 may start a GOP early, never late


@pytest.mark.parametrize("name", ["long.mp4", "clip.webm", "rotated.mp4"])
@pytest.mark.parametrize("threads", [1, 4])
def test_spread_decoding_gives_one_decoder_s_frames(media_files, monkeypatch, name, threads):
    monkeypatch.setattr(decode_av, "_ffmpeg_threads", lambda: threads)
    path = media_files[name]
    total = VideoDecoder(str(path), seek_mode="approximate").metadata.num_frames
    indices = sorted(list(range(0, total, 5)) + [7, 7])  # repeats allowed
    if name == "long.mp4" and threads > 1:  # six GOPs: really decoded side by side
        assert len(video_spread.split_at_key_frames(indices, video_spread.key_frames(str(path)), threads)) > 1
    frames, times, info = decode_av.decode_frames(str(path), indices, None)
    want, want_times = _one_decoder(path, indices)
    assert frames.shape == want.shape and torch.equal(frames, want)
    assert torch.equal(times, (want_times - info.start_s).clamp(min=0).to(torch.float32))
    small, _, _ = decode_av.decode_frames(path.read_bytes(), indices, (48, 64))  # bytes, shrunk at once
    assert small.shape == (len(indices), 3, 48, 64)
    shrunk = torch.empty((len(indices), 3, 48, 64), dtype=torch.uint8)
    decode_av._shrink_into(want.contiguous(), shrunk)  # the one decoder's frames, shrunk the same way
    assert torch.equal(small, shrunk)


def test_on_many_cores_the_decoders_side_by_side_are_bounded_by_their_pictures_memory(media_files, monkeypatch):
    """16 cores, but pictures for only two decoders: two runs (a 4K clip on a big host), the same frames."""
    path = media_files["long.mp4"]
    meta = VideoDecoder(str(path), seek_mode="approximate").metadata
    monkeypatch.setattr(decode_av, "_ffmpeg_threads", lambda: 16)
    monkeypatch.setattr(decode_av, "_DECODERS_BYTES", 2 * decode_av._DECODER_FRAMES * 3 // 2 * meta.width * meta.height)
    parts = []
    real_split = video_spread.split_at_key_frames

    def split(indices, keys, n):
        parts.append(n)
        return real_split(indices, keys, n)

    monkeypatch.setattr(video_spread, "split_at_key_frames", split)
    indices = list(range(0, meta.num_frames, 4))
    frames, _, _ = decode_av.decode_frames(str(path), indices, None)
    assert parts == [2]
    assert torch.equal(frames, _one_decoder(path, indices)[0])


def test_a_stop_ends_spread_decoding(media_files, monkeypatch):
    monkeypatch.setattr(decode_av, "_ffmpeg_threads", lambda: 4)
    stop = threading.Event()
    stop.set()
    with pytest.raises(PreparationStopped):
        decode_av.decode_frames(str(media_files["long.mp4"]), list(range(0, 140, 3)), None, stop)


@pytest.mark.parametrize("pattern", ["every 5th", "sparse with repeats", "whole GOPs skipped inside a run"])
def test_unreferenced_pictures_are_skipped_and_the_frames_stay_exact(media_files, monkeypatch, pattern):
    from mimo_desktop.media import video_packets

    monkeypatch.setattr(decode_av, "_ffmpeg_threads", lambda: 2)
    monkeypatch.setattr(decode_av, "_RUNS_PER_THREAD", 1)  # two runs: the first spans unwanted GOPs (a seek)
    skipped, packet_runs = [], []
    real_check, real_run = video_packets._non_reference, video_packets.decode_run

    def check(data, size):
        answer = real_check(data, size)
        skipped.append(answer)
        return answer

    def run(*args, **kwargs):
        packet_runs.append(args[4:6])
        return real_run(*args, **kwargs)

    def no_fallback(*args, **kwargs):
        raise AssertionError("a packet run fell back to VideoDecoder")

    monkeypatch.setattr(video_packets, "_non_reference", check)
    monkeypatch.setattr(video_packets, "decode_run", run)
    monkeypatch.setattr(video_spread, "decode_run", no_fallback)
    path = media_files["long.mp4"]  # H.264 with B-frames, a keyframe every 24 frames
    total = VideoDecoder(str(path), seek_mode="approximate").metadata.num_frames
    indices = {"every 5th": list(range(0, total, 5)), "sparse with repeats": sorted([1, 1, 30, 31, 77, 120, 121]),
               "whole GOPs skipped inside a run": [2, 3, 60, 61, total - 14, total - 13]}[pattern]
    frames, times, info = decode_av.decode_frames(str(path), indices, None)
    want, want_times = _one_decoder(path, indices)
    assert len(packet_runs) > 1 and any(skipped)  # really decoded packet by packet, some pictures left out
    assert frames.shape == want.shape and torch.equal(frames, want)
    assert torch.equal(times, (want_times - info.start_s).clamp(min=0).to(torch.float32))


def test_only_constant_rate_h264_is_decoded_packet_by_packet(media_files):
    from mimo_desktop.media import video_packets

    for name, codec_ok in (("long.mp4", True), ("clip.webm", False)):
        path = str(media_files[name])
        meta = VideoDecoder(path, seek_mode="approximate").metadata
        times = video_spread.frame_times(path)
        assert video_packets.usable(meta.codec, times, meta.num_frames, meta.average_fps, path) is codec_ok
    times = video_spread.frame_times(str(media_files["long.mp4"]))
    times.seconds[5] += 0.3 / 12  # one frame out of step: variable rate, frame numbers could differ
    assert not video_packets.usable("h264", times, len(times.seconds), 12.0)
