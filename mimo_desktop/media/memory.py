"""Giving memory back to the system once a prepared file is dropped.

Decoders allocate many medium-sized buffers that glibc keeps in its heap after they are freed,
so a removed 10-minute clip could leave a hundred MB behind in the process. ``malloc_trim``
returns those free pages; it is a no-op elsewhere (macOS and Windows return them on their own).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


# glibc raises its mmap threshold to the size of each big block freed (up to 32 MB) and keeps up to twice
# that at the top of every thread's arena, which malloc_trim does not cut: after a 10-minute clip the
# decoder threads' arenas held ~60 MB each. Fixed values switch that off: blocks over 1 MB (decoded
# frames, audio chunks) come from the system and go back to it when freed.
_MMAP_THRESHOLD = 1 * 1024 * 1024
_TRIM_THRESHOLD = 8 * 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


@lru_cache(maxsize=1)
def keep_heap_small() -> bool:
    """Make big freed blocks go back to the system at once (glibc; once per process, before decoding)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def give_back_memory() -> None:
    """Collect cycles, then hand free heap pages back to the system (glibc only)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
