"""Big decoded results in a file-backed buffer, not in the process's anonymous memory.

MiMo-V2.5's rules ask for up to 268 M pixels of frames per video: 600 frames at 704×1248 for
ten minutes of 1080p, 1.58 GB of uint8, more than the 1.5 GB the app may take to prepare a file.
Above ``SPILL_ABOVE`` the frames are written, as they are decoded, into a shared memory map of a
file in the data folder (``attachments/.spill``), unlinked as soon as it is open: the pages are the
kernel's page cache (written back and reclaimable), not the app's; each written range is dropped
from the process (``MADV_DONTNEED``) and its write-back started (``POSIX_FADV_DONTNEED``). The
tensor reads the file back on use, as the disk cache's memory-mapped frames do. The space is
reserved up front (``posix_fallocate``), so a full disk is an ``OSError`` here (the caller then
keeps the frames in memory, as before) and never a ``SIGBUS`` on a write halfway through.

When the last view of the tensor goes, the map and the file go with it: the disk space is
returned at once and nothing is left behind after a crash (on Windows, which cannot remove an
open file, the file is removed when the map is closed).
"""

from __future__ import annotations

import math
import mmap
import os
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and torch load with the first spill, not when the app points the folder
    import torch

MB = 1024 * 1024
SPILL_ABOVE = 256 * MB  # smaller results stay in memory: a few hundred MB come and go quickly
_COPY_BYTES = 64 * MB

_folder: Path | None = None
_live: dict[int, _Spill] = {}  # data pointer of a map -> its spill, while the tensor lives
_lock = threading.Lock()


def set_folder(folder: Path | None) -> None:
    """Where spill files go (the app's data folder); None: ``attachments/.spill`` of the default home."""
    global _folder
    _folder = Path(folder) if folder is not None else None


def folder() -> Path:
    if _folder is not None:
        return _folder
    from mimo_desktop.core import paths

    return paths.attachments_dir() / ".spill"


@dataclass
class _Spill:
    fd: int
    map_ref: weakref.ref  # weak: the tensor alone keeps the map (and the file) alive
    nbytes: int

    def written(self, start: int, end: int) -> None:
        """Bytes ``start:end`` are final: out of the process's memory, on their way to the disk."""
        page = mmap.PAGESIZE
        low = start - start % page  # a shared file page dropped while a neighbour writes it is just read again
        high = min(self.nbytes, math.ceil(end / page) * page)
        if high <= low:
            return
        mm = self.map_ref()
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED, low, high - low)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self.fd, low, high - low, os.POSIX_FADV_DONTNEED)

    def copy_to(self, out_fd: int) -> None:
        """The whole buffer appended to ``out_fd`` by the kernel (no pass through this process's memory)."""
        offset = 0
        while offset < self.nbytes:
            count = min(_COPY_BYTES, self.nbytes - offset)
            if hasattr(os, "copy_file_range"):
                try:
                    sent = os.copy_file_range(self.fd, out_fd, count, offset)
                except OSError:  # across file systems on older kernels
                    sent = _copy_chunk(self.fd, out_fd, count, offset)
            else:
                sent = _copy_chunk(self.fd, out_fd, count, offset)
            if sent <= 0:
                raise OSError(f"the spill file ended after {offset} of {self.nbytes} bytes")
            offset += sent


def _copy_chunk(fd: int, out_fd: int, count: int, offset: int) -> int:
    """Read ``count`` bytes at ``offset`` and write them all (portable: no pread off Unix)."""
    os.lseek(fd, offset, os.SEEK_SET)
    data = os.read(fd, count)
    _write_all(out_fd, data)
    return len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _reserve(fd: int, nbytes: int) -> None:
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, nbytes)
            return
        except OSError as exc:
            if exc.errno not in (95, 22):  # EOPNOTSUPP/EINVAL: the file system cannot; write zeros instead
                raise
    zeros = bytes(min(_COPY_BYTES, nbytes))
    os.lseek(fd, 0, os.SEEK_SET)
    done = 0
    while done < nbytes:
        step = min(len(zeros), nbytes - done)
        _write_all(fd, zeros[:step])
        done += step


def _release(fd: int, name: str | None) -> None:
    os.close(fd)
    if name is not None:
        try:
            os.unlink(name)
        except OSError:
            pass


def empty(shape: tuple[int, ...]) -> torch.Tensor | None:
    """An uninitialised uint8 tensor of ``shape`` backed by a spill file, or None when it is small
    enough to stay in memory or the file cannot be made (full disk, no permission: keep it in memory)."""
    nbytes = math.prod(shape)
    if nbytes <= SPILL_ABOVE:
        return None
    try:
        where = folder()
        where.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="frames-", suffix=".spill", dir=where)
    except OSError:
        return None
    try:
        _reserve(fd, nbytes)
        mm = mmap.mmap(fd, nbytes)
    except Exception:  # a full disk, a platform without something: the frames stay in memory, no file left
        _release(fd, name)
        return None
    try:
        os.unlink(name)
        name = None
    except OSError:  # Windows: removed when the map is closed
        pass
    spill = _Spill(fd, weakref.ref(mm), nbytes)
    import numpy as np
    import torch

    array = np.frombuffer(mm, np.uint8, nbytes).reshape(shape)
    tensor = torch.from_numpy(array)
    key = tensor.untyped_storage().data_ptr()
    with _lock:
        _live[key] = spill
    weakref.finalize(mm, _forget, key, fd, name)
    return tensor


def _forget(key: int, fd: int, name: str | None) -> None:
    with _lock:
        if key in _live and _live[key].fd == fd:  # not a newer map that got the same address
            del _live[key]
    _release(fd, name)


def of(tensor: torch.Tensor) -> _Spill | None:
    """The spill behind ``tensor`` (any view of a whole one), or None for ordinary memory."""
    with _lock:
        spill = _live.get(tensor.untyped_storage().data_ptr())
    if spill is None or tensor.untyped_storage().nbytes() != spill.nbytes:
        return None
    if tensor.storage_offset() != 0 or tensor.numel() * tensor.element_size() != spill.nbytes:
        return None  # a slice: the file holds more than this view (copied as a tensor instead)
    return spill
