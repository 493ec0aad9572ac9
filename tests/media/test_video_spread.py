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


def test_a_stop_ends_spread_decoding(media_files, monkeypatch):
    monkeypatch.setattr(decode_av, "_ffmpeg_threads", lambda: 4)
    stop = threading.Event()
    stop.set()
    with pytest.raises(PreparationStopped):
        decode_av.decode_frames(str(media_files["long.mp4"]), list(range(0, 140, 3)), None, stop)
