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


def give_back_memory() -> None:
    """Collect cycles, then hand free heap pages back to the system (glibc only)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
