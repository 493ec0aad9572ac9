"""Earlier turns' media: decoded off the GUI thread, delivered before the disk cache is written."""

from __future__ import annotations

import threading
import wave

import numpy as np
import pytest

pytest.importorskip("torch")

from mimo_desktop.media.cache import PreparedCache  # noqa: E402
from mimo_desktop.ui.chat.history_media import HistoryMedia, MediaJob  # noqa: E402


@pytest.fixture
def tone(tmp_path):
    path, rate = tmp_path / "tone.wav", 24000
    t = np.arange(int(2.0 * rate)) / rate
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.sin(2 * np.pi * 330 * t) * 20000).astype(np.int16).tobytes())
    return path


def test_the_history_is_delivered_before_its_disk_cache_is_written(qtbot, tmp_path, tone, monkeypatch):
    import hashlib

    sha = hashlib.sha256(tone.read_bytes()).hexdigest()
    cache = PreparedCache(tmp_path / "prepared")
    disk_free, writing = threading.Event(), threading.Event()
    real_save = PreparedCache._save

    def slow_disk(self, key, item):  # a 1 h clip is ~1.2 GB of frames: seconds of writing
        writing.set()
        disk_free.wait(10)
        real_save(self, key, item)

    monkeypatch.setattr(PreparedCache, "_save", slow_disk)
    media = HistoryMedia()
    try:
        with qtbot.waitSignal(media.prepared, timeout=20_000) as got:
            media.start(MediaJob("r1", ((7, tone, sha, "audio"),), None, cache))
        request_id, history = got.args
        assert request_id == "r1" and [i.kind for i in history.by_message[7]] == ["audio"] and not history.notes
        assert not list((tmp_path / "prepared").glob("*/*/meta.json"))  # delivered first
        assert writing.wait(10)  # then written, off the GUI thread
        disk_free.set()
        qtbot.waitUntil(lambda: bool(list((tmp_path / "prepared").glob("*/*/meta.json"))), timeout=10_000)
        again = PreparedCache(tmp_path / "prepared").get(sha, _cfg(), tone)
        assert again is not None and again.tokens == history.by_message[7][0].tokens
    finally:
        disk_free.set()
        media.shutdown()


def _cfg():
    from mimo_desktop.media.config import default_config

    return default_config()
