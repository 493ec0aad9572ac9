"""The composer's text box: Enter sends, Shift+Enter breaks the line; pasted or dropped files become attachments."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit


def local_files(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


class MessageEdit(QPlainTextEdit):
    submitted = Signal()
    filesInserted = Signal(list)  # list[Path]
    imageInserted = Signal(QImage)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    # paste and drop both come through here: files and pictures become attachments, text stays text
    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 (Qt override)
        return bool(local_files(source)) or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt override)
        files = local_files(source)
        if files:
            self.filesInserted.emit(files)
        elif source.hasImage():
            self.imageInserted.emit(QImage(source.imageData()))
        else:
            super().insertFromMimeData(source)
