"""Capture from the camera, the microphone and the screen (QtMultimedia, imported only when used).

Each dialog has a ``captured(str)`` signal carrying the path of the file it wrote;
the composer attaches that file through the same media layer as any other file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QWidget

ScratchPath = Callable[[str, str], Path]  # (stem, suffix) -> a new file path


def open_capture(kind: str, parent: QWidget, scratch_path: ScratchPath) -> QDialog:
    """Build and open (non-modal) the capture dialog for ``kind``: photo, clip, audio or region."""
    if kind == "photo":
        from .photo import PhotoDialog as dialog_type
    elif kind == "clip":
        from .clip import ClipDialog as dialog_type
    elif kind == "audio":
        from .audio import AudioDialog as dialog_type
    elif kind == "region":
        from .screen import RegionDialog as dialog_type
    else:
        raise ValueError(f"unknown capture kind {kind!r}")
    dialog = dialog_type(scratch_path, parent)
    dialog.open()
    return dialog
