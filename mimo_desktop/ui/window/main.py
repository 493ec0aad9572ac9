"""The main window: conversation list | chat view over composer, engine status in the status bar.

Shortcuts are window-wide actions (listed in the help dialog): new chat Ctrl+N, search Ctrl+F,
stop Esc, attach Ctrl+O, rename F2, sidebar Ctrl+B, settings Ctrl+, and help F1; Enter sends from the
composer. Files dragged over any part of the window land on the drop overlay and attach to the message.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QSplitter, QVBoxLayout, QWidget

from mimo_desktop import APP_NAME

from ..chat.view import ChatView
from ..composer.composer import Composer
from ..sidebar.conversation_list import ConversationList
from .drop_overlay import DropOverlay
from ..engine.status import EngineStatus
from .first_run import FirstRunPanel


class MainWindow(QMainWindow):
    closing = Signal()
    resized = Signal(QSize)
    exportRequested = Signal(str)  # "md" | "md+thinking" | "json"
    settingsRequested = Signal()
    stopRequested = Signal()
    cancelEditRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(1100, 720)
        self.conversations = ConversationList()
        self.chat = ChatView()
        self.composer = Composer()
        self.first_run = FirstRunPanel()
        self.first_run.hide()
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setAccessibleName("Notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setStyleSheet("padding: 6px; border-radius: 4px; background: rgba(255, 170, 0, 40);")
        self.notice.hide()
        self.edit_bar = self._build_edit_bar()

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.notice)
        column.addWidget(self.first_run)
        column.addWidget(self.chat, 1)
        column.addWidget(self.edit_bar)
        column.addWidget(self.composer)
        self.splitter = splitter = QSplitter()
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(self.conversations)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)  # the chat never disappears; the sidebar may (View → Sidebar)
        splitter.setSizes([260, 840])
        self.setCentralWidget(splitter)

        self.drop_overlay = DropOverlay(self, self.composer)  # files dropped anywhere attach to the message
        self.engine_status = EngineStatus()
        self.statusBar().addPermanentWidget(self.engine_status)
        self.first_run.settingsRequested.connect(self.settingsRequested)
        self.chat.copied.connect(lambda what: self.statusBar().showMessage(f"Copied the {what}.", 3000))
        self._build_menus()

    def _build_edit_bar(self) -> QWidget:
        bar = QWidget(objectName="editBar")
        self.edit_label = QLabel("Editing your message: Send makes a new branch; the old one is kept.")
        cancel = QPushButton("Cancel edit", objectName="cancelEditButton")
        cancel.setAccessibleName("Cancel edit")
        cancel.clicked.connect(self.cancelEditRequested)
        row = QHBoxLayout(bar)
        row.setContentsMargins(6, 2, 6, 0)
        row.addWidget(self.edit_label, 1)
        row.addWidget(cancel)
        bar.hide()
        return bar

    def _action(self, text: str, shortcut, slot, menu) -> QAction:
        action = QAction(text, self, shortcut=QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action("&New chat", QKeySequence.StandardKey.New,
                                       self.conversations.newRequested, file_menu)
        # The composer binds Ctrl+O itself; a second binding would make the key ambiguous (neither fires).
        self.attach_action = self._action("&Attach files…\tCtrl+O", QKeySequence(), self._attach, file_menu)
        export_menu = file_menu.addMenu("&Export conversation")
        export_menu.addAction("As &Markdown…", lambda: self.exportRequested.emit("md"))
        export_menu.addAction("As Markdown with the model's &thinking…",
                              lambda: self.exportRequested.emit("md+thinking"))
        export_menu.addAction("As &JSON…", lambda: self.exportRequested.emit("json"))
        file_menu.addSeparator()
        self.settings_action = self._action("&Settings…", "Ctrl+,", self.settingsRequested, file_menu)
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, file_menu)
        edit_menu = self.menuBar().addMenu("&Edit")
        self.search_action = self._action("&Search conversations", QKeySequence.StandardKey.Find,
                                          self._focus_search, edit_menu)
        self.stop_action = self._action("S&top the answer", "Esc", self.stopRequested, edit_menu)
        self.rename_action = self._action("&Rename conversation", "F2", self.conversations.rename_current, edit_menu)
        view_menu = self.menuBar().addMenu("&View")
        self.sidebar_action = self._action("&Sidebar", "Ctrl+B", self.set_sidebar_visible, view_menu)
        self.sidebar_action.setCheckable(True)
        self.sidebar_action.setChecked(True)
        help_menu = self.menuBar().addMenu("&Help")
        self.help_action = self._action("&Keyboard shortcuts", "F1", self.show_help, help_menu)

    def _focus_search(self) -> None:
        self.set_sidebar_visible(True)
        self.conversations.search.setFocus()
        self.conversations.search.selectAll()

    def _attach(self) -> None:
        choose = getattr(self.composer, "choose_files", None)  # the composer's file dialog, where it has one
        if choose is not None:
            choose()

    def show_help(self):
        from .help import HelpDialog

        dialog = HelpDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def show_first_run(self) -> None:
        """No engine configured: say how to connect one (and up front if vLLM is missing here)."""
        import importlib.util

        from .first_run import VLLM_MISSING_NOTE

        self.first_run.set_vllm_missing("" if importlib.util.find_spec("vllm") else VLLM_MISSING_NOTE)
        self.engine_status.show_not_configured()
        self.first_run.show()

    def set_sidebar_visible(self, visible: bool) -> None:
        self.conversations.setVisible(bool(visible))
        self.sidebar_action.setChecked(bool(visible))

    def sidebar_visible(self) -> bool:
        return not self.conversations.isHidden()

    def show_editing(self, editing: bool) -> None:
        self.edit_bar.setVisible(editing)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self.drop_overlay.property("watching"):  # the native window exists from the first show on
            self.drop_overlay.watch(self.windowHandle())
            self.drop_overlay.setProperty("watching", True)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.resized.emit(event.size())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.closing.emit()
        super().closeEvent(event)
