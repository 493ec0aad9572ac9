"""The screen, or a region dragged out on it, as a PNG (QScreen.grabWindow).

The region picker freezes the screen first, then shows that picture full-screen:
the user drags a rectangle on a still image, so nothing moves under the mouse.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPixmap, QScreen
from PySide6.QtWidgets import QWidget

from mimo_desktop.core.errors import MimoError

from .dialog import CaptureDialog, ScratchPath

NO_SCREEN = (
    "This desktop does not let apps capture the screen (Wayland sessions block it). "
    "Take a screenshot with the system's tool and paste it into the message instead."
)
MIN_SIDE = 8  # a click is not a region


def span(a: QPoint, b: QPoint) -> QRect:
    """The rectangle with corners ``a`` and ``b``, both included, whichever way the mouse went."""
    # (QRect(a, b).normalized() is off by one when b is above or left of a)
    return QRect(QPoint(min(a.x(), b.x()), min(a.y(), b.y())), QPoint(max(a.x(), b.x()), max(a.y(), b.y())))


class ScreenCaptureError(MimoError):
    """The screen cannot be captured here."""


def grab_screen(screen: QScreen | None) -> QPixmap:
    screen = screen or QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(0) if screen is not None else QPixmap()
    if pixmap.isNull() or pixmap.width() == 0:
        raise ScreenCaptureError(NO_SCREEN)
    return pixmap


def save_png(pixmap: QPixmap, path: Path) -> Path:
    if not pixmap.save(str(path), "PNG"):
        raise ScreenCaptureError(f"Could not write the screenshot to {path.parent}.")
    return path


def capture_whole_screen(scratch_path: ScratchPath, screen: QScreen | None) -> Path:
    return save_png(grab_screen(screen), scratch_path("screen", "png"))


class RegionDialog(CaptureDialog):
    """A full-screen still of the screen; drag a rectangle, release to capture it; Esc cancels."""

    def __init__(self, scratch_path: ScratchPath, parent: QWidget | None = None) -> None:
        super().__init__("Capture a screen region", scratch_path, parent)
        screen = parent.screen() if parent is not None else QGuiApplication.primaryScreen()
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Dialog)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName("Drag to choose a screen region; Escape cancels")
        self._origin: QPoint | None = None
        self._selection = QRect()
        try:
            self.still = grab_screen(screen)
        except ScreenCaptureError as exc:
            self.still = QPixmap()
            self.show_message(str(exc))
            return
        self.setGeometry(screen.geometry())

    def open(self) -> None:
        if self.still.isNull():
            super().open()  # a normal dialog that only says why
        else:
            self.showFullScreen()

    def selection(self) -> QRect:
        return QRect(self._selection)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if self.still.isNull():
            return super().paintEvent(event)
        painter = QPainter(self)
        painter.drawPixmap(self.rect(), self.still)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 110))  # dim everything but the selection
        if not self._selection.isEmpty():
            painter.drawPixmap(self._selection, self.still, self._device_rect(self._selection))
            painter.setPen(QColor(52, 152, 219))
            painter.drawRect(self._selection.adjusted(0, 0, -1, -1))
        else:
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Drag to choose a region · Esc cancels")
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton and not self.still.isNull():
            self._origin = event.position().toPoint()
            self._selection = QRect()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._origin is not None:
            self._selection = span(self._origin, event.position().toPoint()) & self.rect()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._origin is None:
            return
        self.mouseMoveEvent(event)
        self._origin = None
        if self._selection.width() < MIN_SIDE or self._selection.height() < MIN_SIDE:
            self._selection = QRect()
            self.update()
            return
        region = self.still.copy(self._device_rect(self._selection))
        try:
            self.deliver(save_png(region, self.scratch_path("screen-region", "png")))
        except ScreenCaptureError as exc:
            self.show_message(str(exc))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.reject()
        else:
            super().keyPressEvent(event)

    def _device_rect(self, rect: QRect) -> QRect:
        # the still has the screen's device pixels; the widget works in logical pixels
        sx = self.still.width() / max(1, self.width())
        sy = self.still.height() / max(1, self.height())
        return QRect(round(rect.x() * sx), round(rect.y() * sy), round(rect.width() * sx), round(rect.height() * sy))
