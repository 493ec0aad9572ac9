"""What every capture dialog shares: a ``captured(str)`` signal, a message line, permission handling."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCameraPermission, QCoreApplication, QMicrophonePermission, Signal
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from .devices import ASKING

ScratchPath = Callable[[str, str], Path]


def format_clock(ms: int) -> str:
    seconds = max(0, ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


class CaptureDialog(QDialog):
    captured = Signal(str)  # path of the file written

    def __init__(self, title: str, scratch_path: ScratchPath, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.scratch_path = scratch_path
        self.message = QLabel()
        self.message.setObjectName("captureMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.body = QVBoxLayout(self)
        self.body.addWidget(self.message)

    def show_message(self, text: str, *, problem: bool = True) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c0392b" if problem else "color: gray")
        self.message.setVisible(bool(text))

    def ask_permission(self, permission: QCameraPermission | QMicrophonePermission, then: Callable[[], None]) -> None:
        """Shown while the system asks the user (macOS, Windows); ``then`` re-checks when they answered."""
        self.show_message(ASKING, problem=False)
        QCoreApplication.instance().requestPermission(permission, self, lambda _answer: then())

    def deliver(self, path: Path) -> None:
        self.captured.emit(str(path))
        self.accept()
