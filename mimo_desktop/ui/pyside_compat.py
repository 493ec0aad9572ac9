"""A guard against a PySide6 6.12 bug on CPython 3.11: every void Qt method returns None, and
``Signal.emit`` returns True, without taking a new reference (the bindings assume 3.12's immortal
None/True/False).

Each call such as ``label.setText(...)`` or ``cursor.insertHtml(...)`` then drops one reference of
None, each ``emit`` one of True; after about 5,000 calls CPython aborts with "Fatal Python error:
none_dealloc: deallocating None" (or bool_dealloc). Measured here: PySide6 6.12.0, Python 3.11.7,
a QLabel.setText loop or a Signal.emit loop crashes the process. Until the dependency is pinned
(PySide6 < 6.12 on Python < 3.12, or Python >= 3.12), give these singletons so many references
that they cannot reach zero. They are never freed anyway, so this changes nothing else; on 3.12+
(immortal singletons) or other PySide6 versions it does nothing.
"""

from __future__ import annotations

import sys

_applied = False


def affected() -> bool:
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    import PySide6

    return tuple(PySide6.__version_info__[:2]) >= (6, 12)


def keep_none_alive() -> None:
    global _applied
    if _applied or not affected():
        return
    import ctypes

    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    _applied = True
