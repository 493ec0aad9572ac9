"""Big frame results live in a spill file, not in the app's memory: the same frames, out of the
process once written, kept by the disk cache across a restart, gone with the chip, and kept in
memory as before when the disk is full (real files, real maps, a real file-size limit)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from mimo_desktop.media import spill  # noqa: E402
from mimo_desktop.media.cache import PreparedCache  # noqa: E402
from mimo_desktop.media.preparation import prepare  # noqa: E402


def _spill_fds() -> list[str]:
    """This process's open spill files (unlinked at once: their names end in "(deleted)")."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if ".spill" in target and "frames-" in target:
            found.append(target)
    return found


def _resident_bytes(address: int) -> int:
    """Rss of the mapping that holds ``address`` (/proc/self/smaps)."""
    inside = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            low, high = (int(x, 16) for x in head.split("-"))
            inside = low <= address < high
        elif inside and head == "Rss:":
            return int(line.split()[1]) * 1024
    raise AssertionError("no mapping holds the frames")


@pytest.fixture
def spill_always(monkeypatch, tmp_path):
    monkeypatch.setattr(spill, "SPILL_ABOVE", 0)  # every result spills: the test clips are small
    monkeypatch.setattr(spill, "_folder", tmp_path / "spill")
    return tmp_path / "spill"


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_spilled_frames_equal_the_frames_held_in_memory_and_leave_the_process(media_files, tiny_config,
                                                                            spill_always, monkeypatch):
    clip = media_files["long.mp4"]
    spilled = prepare(clip, tiny_config)
    frames, times = spilled.vllm_data
    assert spill.of(frames) is not None
    assert list(spill_always.iterdir()) == []  # unlinked at once: nothing to clean after a crash
    assert len(set(_spill_fds())) == 1  # ours and the map's own descriptor of one file
    # written and dropped: the map holds (almost) nothing of the process's memory
    assert _resident_bytes(frames.untyped_storage().data_ptr()) <= 2 * 4096
    monkeypatch.setattr(spill, "SPILL_ABOVE", 1 << 40)
    held = prepare(clip, tiny_config)
    assert spill.of(held.vllm_data[0]) is None
    assert frames.shape == held.vllm_data[0].shape and frames.stride() == held.vllm_data[0].stride()
    assert torch.equal(frames, held.vllm_data[0]) and torch.equal(times, held.vllm_data[1])
    assert spilled.tokens == held.tokens and spilled.timestamps == held.timestamps
    poster = frames[3].permute(1, 2, 0).contiguous().numpy()  # what the composer's thumbnail reads
    assert poster.shape[2] == 3 and poster.any()
    del spilled, frames, times, poster
    gc.collect()
    assert _spill_fds() == []  # the chip is removed: the file and its disk space are gone


def test_the_disk_cache_keeps_spilled_frames_across_a_restart(media_files, tiny_config, spill_always, tmp_path):
    clip = media_files["long.mp4"]
    item = prepare(clip, tiny_config)
    want = item.vllm_data[0].clone()
    PreparedCache(tmp_path / "prepared").put(item)
    del item
    gc.collect()
    assert _spill_fds() == []
    again = PreparedCache(tmp_path / "prepared").get(prepare(clip, tiny_config).sha256, tiny_config, clip)
    assert again is not None and torch.equal(again.vllm_data[0], want)


_FULL_DISK = """
import os, resource, signal, sys, torch
from pathlib import Path
sys.path.insert(0, {tests!r})
from mimo_desktop.media import spill
from mimo_desktop.media.cache import PreparedCache
from mimo_desktop.media.config import load_model_config
from mimo_desktop.media.preparation import prepare
cfg = load_model_config(Path({model!r}))
spill.SPILL_ABOVE = 1 << 40
held = prepare({clip!r}, cfg)
spill.SPILL_ABOVE, spill._folder = 0, Path({folder!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails as on a full disk: EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
item = prepare({clip!r}, cfg)
assert spill.of(item.vllm_data[0]) is None, "spilled past the limit"
assert torch.equal(item.vllm_data[0], held.vllm_data[0])
PreparedCache(Path({folder!r}) / "prepared").put(item)  # the cache cannot write either: no error
assert not list(Path({folder!r}).rglob("meta.json"))
print("ok")
"""


def test_a_full_disk_keeps_the_frames_in_memory_and_loses_nothing(media_files, tiny_model_dir, tmp_path):
    code = _FULL_DISK.format(tests=str(Path(__file__).parent), model=str(tiny_model_dir),
                             clip=str(media_files["long.mp4"]), folder=str(tmp_path / "full"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_a_platform_without_fallocate_writes_zeros_portably_and_a_failure_leaves_no_file(spill_always, monkeypatch):
    """macOS/Windows have no posix_fallocate (and Windows no pread/pwrite): the space is still reserved;
    when even that fails in some unexpected way the frames stay in memory and no file or descriptor is left."""
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    monkeypatch.delattr(os, "pwrite", raising=False)
    monkeypatch.delattr(os, "pread", raising=False)
    monkeypatch.delattr(os, "copy_file_range", raising=False)
    frames = spill.empty((3, 5, 7))
    assert frames is not None and torch.count_nonzero(frames) == 0
    frames[1] = 9
    out = spill_always / "copy.bin"
    with open(out, "wb") as target:
        spill.of(frames).copy_to(target.fileno())
    assert out.read_bytes() == bytes(35) + bytes([9]) * 35 + bytes(35)
    assert spill.of(frames[1:]) is None  # a slice is not the whole file: copied as a tensor, never from the file
    before = _spill_fds()

    def broken(fd, nbytes):
        raise AttributeError("no such call on this platform")

    monkeypatch.setattr(spill, "_reserve", broken)
    assert spill.empty((3, 5, 7)) is None
    assert _spill_fds() == before and [p.name for p in spill_always.iterdir()] == ["copy.bin"]
