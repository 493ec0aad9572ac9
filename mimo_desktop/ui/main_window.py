"""The main window: conversation list | chat view over composer, and a status bar for the engine."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from mimo_desktop import APP_NAME

from .chat_view import ChatView
from .composer import Composer
from .conversation_list import ConversationList


class MainWindow(QMainWindow):
    closing = Signal()
    exportRequested = Signal(str)  # "md" | "json"

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(1100, 720)
        self.conversations = ConversationList()
        self.chat = ChatView()
        self.composer = Composer()
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setStyleSheet("padding: 6px; border-radius: 4px; background: rgba(255, 170, 0, 40);")
        self.notice.hide()

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.notice)
        column.addWidget(self.chat, 1)
        column.addWidget(self.composer)
        splitter = QSplitter()
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)

        self.engine_status = QLabel("Engine: not configured")
        self.engine_status.setObjectName("engineStatus")
        self.statusBar().addPermanentWidget(self.engine_status)
        self._build_menus()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = QAction("&New chat", self, shortcut=QKeySequence.StandardKey.New)
        self.new_action.triggered.connect(self.conversations.newRequested)
        file_menu.addAction(self.new_action)
        export_menu = file_menu.addMenu("&Export conversation")
        export_menu.addAction("As &Markdown…", lambda: self.exportRequested.emit("md"))
        export_menu.addAction("As &JSON…", lambda: self.exportRequested.emit("json"))
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        self.search_action = QAction("&Search conversations", self, shortcut=QKeySequence.StandardKey.Find)
        self.search_action.triggered.connect(self._focus_search)
        edit_menu.addAction(self.search_action)

    def _focus_search(self) -> None:
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.closing.emit()
        super().closeEvent(event)
