"""A real full disk: a 1 MiB tmpfs in a private mount namespace (``unshare -rm``), filled to the last
byte by a child process. At start-up the history opens read only, with a notice, instead of not at
all; while an answer streams, the writer keeps it in memory and writes it once there is room.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("full_disk_child.py")
STREAM_CHILD = Path(__file__).with_name("full_disk_stream_child.py")


def can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


def on_a_full_tmpfs(tmp_path: Path, child: Path) -> dict:
    disk = tmp_path / "disk"
    disk.mkdir()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    script = f'mount -t tmpfs -o size=1m tmpfs "{disk}" && exec "{sys.executable}" "{child}" "{disk}"'
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


needs_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(), reason="no user namespaces here to mount a small tmpfs")


@needs_tmpfs
def test_a_full_disk_while_an_answer_streams_keeps_it_and_writes_it_once_freed(tmp_path):
    result = on_a_full_tmpfs(tmp_path, STREAM_CHILD)
    assert result["full_seen"]
    assert result["during"][1] == "streaming" and len(result["during"][0]) < len(result["expected"])
    assert any(s.startswith("Disk full: ") and "words kept in memory, retrying." in s for s in result["said"])
    assert result["drained"] and result["after"] == [result["expected"], "complete"]


@needs_tmpfs
def test_a_full_disk_at_start_opens_the_history_read_only(tmp_path):
    disk = tmp_path / "disk"
    result = on_a_full_tmpfs(tmp_path, CHILD)
    assert result["read_only"].startswith(f"The disk holding {disk}/home is full, so the history is open read only")
    assert sorted(result["threads"]) == [["hello from first"], ["hello from second"]]
    assert result["write"] == result["read_only"]  # a write is refused with the same sentence
