"""The whole text of a message whose long unbroken runs the chat view shows cut.

A QPlainTextEdit lays out only the lines in view, but each line as a whole: the text is shown with
its long runs broken into lines of BREAK_CHARS characters, so even a 1 MiB line opens at once.
"Copy all" copies the text as it was written.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

BREAK_CHARS = 1000
_RUN = re.compile(r"\S{%d}" % BREAK_CHARS)


def broken_lines(text: str) -> str:
    """``text`` with a newline after every BREAK_CHARS characters of an unbroken run."""
    return _RUN.sub(lambda m: m.group() + "\n", text)


class TextViewer(QDialog):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("The whole message")
        self.setObjectName("textViewer")
        self.resize(820, 560)
        self._text = text
        note = QLabel(f"{len(text):,} characters. Unbroken runs are shown in lines of {BREAK_CHARS:,};"
                      " Copy all copies the text as written.")
        note.setWordWrap(True)
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setAccessibleName("Message text")
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlainText(broken_lines(text))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton("Copy all", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self._copy)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.view)
        layout.addWidget(buttons)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._text)


def show_text(parent: QWidget, text: str) -> TextViewer:
    viewer = TextViewer(text, parent)
    viewer.setModal(False)
    viewer.show()
    return viewer
