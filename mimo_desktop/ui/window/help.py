"""Keyboard shortcuts, listed where a person looks for them (Help → Keyboard shortcuts, F1)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

# (what it does, the keys) — the main window binds the same keys.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("New chat", "Ctrl+N"),
    ("Search conversations", "Ctrl+F"),
    ("Send the message", "Enter"),
    ("New line in the message", "Shift+Enter"),
    ("Stop the answer", "Esc"),
    ("Attach a file", "Ctrl+O"),
    ("Settings", "Ctrl+,"),
    ("Keyboard shortcuts (this list)", "F1"),
    ("Delete the selected conversation", "Delete"),
    ("Rename the conversation (in the list)", "F2"),
    ("Show or hide the conversation list", "Ctrl+B"),
    ("Attach files by dropping them anywhere on the window", "Drag and drop"),
    ("Quit", "Ctrl+Q"),
)


class HelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.setObjectName("shortcutTable")
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        for row, (action, keys) in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(action))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(480, 440)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]
