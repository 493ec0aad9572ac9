"""Drop files anywhere on the window: while they are dragged over it, a drop target covers the window and says
what will happen; released, they go to the composer's own add-files path (pictures dragged from a browser
arrive as an image and go to its add-image path).

It watches the window's native drags at the QWindow, before Qt hands them to the widget under the pointer, so a
drag that enters over the search box or the chat view finds the drop target too. Text drags are left alone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QWidget


def dropped_files(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []


def attachable(mime: QMimeData) -> bool:
    return bool(dropped_files(mime)) or mime.hasImage()


class DropOverlay(QWidget):
    """The drop target: a tinted panel over the window with a dashed border and a sentence."""

    def __init__(self, window: QWidget, composer) -> None:
        super().__init__(window)
        self.setObjectName("dropOverlay")
        self.setAccessibleName("Drop files to attach them")
        self.setAcceptDrops(True)
        self._composer = composer
        self._count = 0
        self.hide()

    # ------------------------------------------------------------ the window's drags
    def watch(self, native_window: QObject) -> None:
        native_window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.DragEnter and attachable(event.mimeData()):
            self._count = len(dropped_files(event.mimeData())) or 1
            self.setGeometry(self.parentWidget().rect())
            self.show()
            self.raise_()  # now the widget under the pointer: Qt gives it this drag
        return False

    # ------------------------------------------------------------ as the drop target
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if attachable(event.mimeData()):
            event.acceptProposedAction()
        else:
            self.hide()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt override)
        event.acceptProposedAction()

    def dragLeaveEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        self.hide()  # the pointer left the window, or the drag was cancelled (Esc)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        self.hide()
        mime = event.mimeData()
        files = dropped_files(mime)
        if files:
            self._composer.add_files(files)
        elif mime.hasImage():
            self._composer.add_image(QImage(mime.imageData()))
        event.acceptProposedAction()
        self._composer.edit.setFocus()  # the question about them comes next

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        back = QColor(self.palette().color(QPalette.ColorRole.Window))
        back.setAlphaF(0.88)
        painter.fillRect(self.rect(), back)
        tint = QColor(accent)
        tint.setAlphaF(0.12)
        frame = QRectF(self.rect()).adjusted(14, 14, -14, -14)
        painter.setBrush(tint)
        painter.setPen(QPen(accent, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(frame, 14, 14)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, self.message())

    def message(self) -> str:
        what = "this file" if self._count == 1 else f"these {self._count} files"
        return f"Drop to attach {what}\nto your message"
