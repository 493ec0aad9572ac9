"""Prepared once: items come back from the memory or the disk cache, identical, without decoding."""

from __future__ import annotations

import base64

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mimo_desktop.media.cache import PreparedCache, item_bytes, settings_key  # noqa: E402
from mimo_desktop.media.preparation import prepare  # noqa: E402


def _same(a, b):
    assert (a.kind, a.tokens, a.resized, a.timestamps, a.sha256) == (b.kind, b.tokens, b.resized, b.timestamps, b.sha256)
    if a.kind == "video":
        assert torch.equal(a.vllm_data[0], b.vllm_data[0]) and torch.equal(a.vllm_data[1], b.vllm_data[1])
    else:
        assert np.array_equal(a.vllm_data[0], b.vllm_data[0]) and a.vllm_data[1] == b.vllm_data[1]


def test_a_clip_comes_back_from_disk_with_its_sound_and_no_decoding(media_files, tiny_config, tmp_path, monkeypatch):
    clip = media_files["clip.mp4"]
    item = prepare(clip, tiny_config)
    assert item.audio_track is not None
    PreparedCache(tmp_path / "prepared").put(item)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    from mimo_desktop.media import decode_av

    monkeypatch.setattr(decode_av, "decode_frames", no_decoding)  # what any decode of the clip goes through
    monkeypatch.setattr(decode_av, "decode_audio_to_rate", no_decoding)
    again = PreparedCache(tmp_path / "prepared").get(item.sha256, tiny_config, clip)  # a new start: disk only
    assert again is not None
    _same(item, again)
    _same(item.audio_track, again.audio_track)
    assert again.details["token_timestamps"] == item.details["token_timestamps"]
    assert again.total_tokens == item.total_tokens
    url = str(again.openai_part["video_url"]["url"])  # still streams the original file to a remote server
    assert base64.b64decode(url.split(",", 1)[1]) == clip.read_bytes()
    again.vllm_data[0][0, 0, 0, 0] = 7  # copy-on-write: usable as a normal tensor, the cache file unchanged
    _same(item, PreparedCache(tmp_path / "prepared").get(item.sha256, tiny_config, clip))


def test_other_settings_or_other_content_miss(media_files, tiny_config, tmp_path):
    item = prepare(media_files["tone.flac"], tiny_config)
    cache = PreparedCache(tmp_path / "prepared")
    cache.put(item)
    assert cache.get(item.sha256, tiny_config) is not None
    other = tiny_config.with_overrides(fps=tiny_config.fps * 2)
    assert settings_key(other) != settings_key(tiny_config)
    assert cache.get(item.sha256, other) is None
    assert cache.get("0" * 64, tiny_config) is None


def test_memory_is_bounded_and_least_recently_used_goes_first(media_files, tiny_config):
    items = [prepare(media_files[name], tiny_config) for name in ("tone.flac", "tone.mp3", "stereo48k.wav")]
    sizes = [item_bytes(i) for i in items]
    cache = PreparedCache(None, memory_bytes=sizes[0] + sizes[1] + sizes[2] - 1)  # memory only: one must go
    cache.put(items[0])
    cache.put(items[1])
    assert cache.get(items[0].sha256, tiny_config) is not None  # now the most recent
    cache.put(items[2])
    assert cache.get(items[1].sha256, tiny_config) is None
    assert cache.get(items[0].sha256, tiny_config) is not None and cache.get(items[2].sha256, tiny_config) is not None


def test_sweep_removes_entries_of_attachments_that_are_gone(media_files, tiny_config, tmp_path):
    cache = PreparedCache(tmp_path / "prepared")
    kept, gone = prepare(media_files["tone.flac"], tiny_config), prepare(media_files["tone.mp3"], tiny_config)
    cache.put(kept)
    cache.put(gone)
    assert cache.sweep(lambda sha: sha == kept.sha256) == 1
    fresh = PreparedCache(tmp_path / "prepared")
    assert fresh.get(kept.sha256, tiny_config) is not None and fresh.get(gone.sha256, tiny_config) is None
    cache.clear()
    assert not (tmp_path / "prepared").exists()


@pytest.mark.parametrize("name, key", [("clip.mp4", "video_url"), ("tone.mp3", "input_audio")])
def test_a_memory_hit_reads_the_file_where_it_is_now(media_files, tiny_config, tmp_path, name, key):
    """Sent, then the original moved away: the next turn to a remote server reads the stored copy."""
    original = tmp_path / name
    original.write_bytes(media_files[name].read_bytes())
    item = prepare(original, tiny_config)
    cache = PreparedCache(None)
    cache.put(item)
    stored = tmp_path / "stored-copy"
    original.rename(stored)
    again = cache.get(item.sha256, tiny_config, stored)
    assert again.source == stored
    inner = again.openai_part[key]
    url = inner["url"] if key == "video_url" else inner["data"]
    assert url.size == stored.stat().st_size
    assert base64.b64decode(str(url).split(",", 1)[-1]) == stored.read_bytes()  # no FileNotFoundError


def test_sweep_keeps_the_disk_cache_under_its_cap_dropping_the_least_recently_used(
        media_files, tiny_config, tmp_path):
    import os

    items = [prepare(media_files[name], tiny_config) for name in ("tone.flac", "tone.mp3", "stereo48k.wav")]
    cache = PreparedCache(tmp_path / "prepared")
    for age, item in enumerate(items):
        cache.put(item)
        [meta] = (tmp_path / "prepared").glob(f"*/{item.sha256}-*/meta.json")
        os.utime(meta, (1000 + age, 1000 + age))  # written in this order, long ago
    sizes = {i.sha256: sum(f.stat().st_size for f in next((tmp_path / "prepared").glob(f"*/{i.sha256}-*")).iterdir())
             for i in items}
    reader = PreparedCache(tmp_path / "prepared")  # a new start: from disk
    assert reader.get(items[0].sha256, tiny_config) is not None  # the oldest written is the latest used
    capped = PreparedCache(tmp_path / "prepared", disk_bytes=sizes[items[0].sha256] + sizes[items[2].sha256])
    assert capped.sweep(lambda sha: True) == 1
    fresh = PreparedCache(tmp_path / "prepared")
    assert fresh.get(items[1].sha256, tiny_config) is None  # the least recently used went
    assert fresh.get(items[0].sha256, tiny_config) is not None and fresh.get(items[2].sha256, tiny_config) is not None


def test_an_entry_written_before_the_frame_layout_change_still_loads(media_files, tiny_config, tmp_path):
    """Entries from before 2026-12 hold T×C×H×W ``main-frames.npy``; newer ones T×H×W×C ``main-frames-nhwc.npy``."""
    clip = media_files["long.mp4"]
    item = prepare(clip, tiny_config)
    PreparedCache(tmp_path / "prepared").put(item)
    (newer,) = (tmp_path / "prepared").rglob("main-frames-nhwc.npy")
    np.save(newer.with_name("main-frames.npy"), np.ascontiguousarray(item.vllm_data[0].numpy()))
    newer.unlink()
    again = PreparedCache(tmp_path / "prepared").get(item.sha256, tiny_config, clip)
    assert again is not None
    _same(item, again)
