"""Fill a (small tmpfs) disk to the last byte, for the children that test a full disk."""

from __future__ import annotations

import os
from pathlib import Path


def fill_disk(folder: Path) -> Path:
    """Write ``folder/filler`` until the disk refuses more; returns the file (delete it to free the disk)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler
