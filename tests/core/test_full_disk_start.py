"""A full disk at start-up: the history opens read only, with a notice, instead of not at all.

The full disk is real: a 1 MiB tmpfs in a private mount namespace (``unshare -rm``), filled to the
last byte by a child process.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("full_disk_child.py")


def can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_tmpfs(), reason="no user namespaces here to mount a small tmpfs")
def test_a_full_disk_at_start_opens_the_history_read_only(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    script = f'mount -t tmpfs -o size=1m tmpfs "{disk}" && exec "{sys.executable}" "{CHILD}" "{disk}"'
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["read_only"].startswith(f"The disk holding {disk}/home is full, so the history is open read only")
    assert sorted(result["threads"]) == [["hello from first"], ["hello from second"]]
    assert result["write"] == result["read_only"]  # a write is refused with the same sentence
