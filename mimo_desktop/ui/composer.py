"""The composer: multi-line input, Enter sends, Shift+Enter starts a new line; Send and Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget


class MessageEdit(QPlainTextEdit):
    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
        ):
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    sendRequested = Signal(str)
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.edit = MessageEdit()
        self.edit.setObjectName("messageEdit")
        self.edit.setPlaceholderText("Ask about an image, a video or a recording…  (Enter sends, Shift+Enter: new line)")
        self.edit.setMaximumHeight(140)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.hide()
        self.reason = QLabel()
        self.reason.setObjectName("composerReason")
        self.reason.setStyleSheet("color: gray")
        self.reason.hide()

        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.reason)

        self.edit.submitted.connect(self._on_submit)
        self.send_button.clicked.connect(self._on_submit)
        self.stop_button.clicked.connect(self.stopRequested)
        self._busy = False

    def set_busy(self, busy: bool) -> None:
        """While an answer streams, Send becomes Stop; the user may keep typing the next question."""
        self._busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def set_blocked(self, reason: str) -> None:
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason))
        self.send_button.setEnabled(not reason)

    def text(self) -> str:
        return self.edit.toPlainText()

    @Slot()
    def _on_submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text or self._busy or not self.send_button.isEnabled():
            return
        self.edit.clear()
        self.sendRequested.emit(text)
