"""The conversation list: search, new, rename, delete with undo."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.core.conversation import Conversation

UNDO_SECONDS = 10


class ConversationList(QWidget):
    """Shows conversations; emits requests, never touches the store itself."""

    conversationSelected = Signal(int)
    newRequested = Signal()
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    undoDeleteRequested = Signal(int)
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.search = QLineEdit(placeholderText="Search conversations…", clearButtonEnabled=True)
        self.search.setObjectName("conversationSearch")
        self.search.setAccessibleName("Search conversations")
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("newChatButton")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleName("New chat")
        self.list = QListWidget()
        self.list.setObjectName("conversations")
        self.list.setAccessibleName("Conversations")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.empty_label = QLabel("No conversations yet.\nStart one with “New chat”.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.undo_bar = QWidget()
        self.undo_label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoDeleteButton")
        self.undo_button.setAccessibleName("Undo delete")
        bar = QHBoxLayout(self.undo_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.undo_label, 1)
        bar.addWidget(self.undo_button)
        self.undo_bar.hide()
        self._undo_id: int | None = None
        self._undo_timer = QTimer(self, singleShot=True, interval=UNDO_SECONDS * 1000)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.new_button)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.undo_bar)

        self.new_button.clicked.connect(self.newRequested)
        self.search.textChanged.connect(self.searchChanged)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.itemDoubleClicked.connect(lambda item: self.rename(self._id(item)))
        self.undo_button.clicked.connect(self._on_undo)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        delete = QAction("Delete conversation", self.list, shortcut=QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._on_delete_current)
        self.list.addAction(delete)

    # ---------------------------------------------------------------- display
    def show_conversations(self, conversations: list[Conversation], current_id: int | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for conv in conversations:
            item = QListWidgetItem(conv.title or "New conversation")
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            item.setToolTip(conv.title or "New conversation")
            self.list.addItem(item)
            if conv.id == current_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        searching = bool(self.search.text().strip())
        self.empty_label.setText("No conversation matches." if searching else self.empty_label.text())
        self.empty_label.setVisible(not conversations)

    def titles(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def show_deleted(self, conversation_id: int, title: str) -> None:
        self._undo_id = conversation_id
        self.undo_label.setText(f"Deleted “{title or 'New conversation'}”")
        self.undo_bar.show()
        self._undo_timer.start()

    # ------------------------------------------------------------------ slots
    def rename(self, conversation_id: int) -> None:
        current = next((self.list.item(i).text() for i in range(self.list.count())
                        if self._id(self.list.item(i)) == conversation_id), "")
        title, ok = QInputDialog.getText(self, "Rename conversation", "Title:", text=current)
        if ok and title.strip():
            self.renameRequested.emit(conversation_id, title.strip())

    @staticmethod
    def _id(item: QListWidgetItem) -> int:
        return int(item.data(Qt.ItemDataRole.UserRole))

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.conversationSelected.emit(self._id(current))

    @Slot()
    def _on_delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.deleteRequested.emit(self._id(item))

    @Slot()
    def _on_undo(self) -> None:
        if self._undo_id is not None:
            self.undoDeleteRequested.emit(self._undo_id)
        self._undo_id = None
        self.undo_bar.hide()

    def _on_context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        conversation_id = self._id(item)
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self.rename(conversation_id))
        menu.addAction("Delete", lambda: self.deleteRequested.emit(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))
