"""Test helper: hold the database locked from a child process (see db_locker.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("db_locker.py")


class Locker:
    def __init__(self, db_path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(db_path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "locked", line

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "released"
            self.proc.wait(timeout=10)

    def __enter__(self) -> Locker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
