"""The conversation sidebar: new chat, search, conversations grouped by date with a line of preview,
rename in place (F2, double-click, the pencil on hover), delete with undo (Del, the cross on hover).

While searching, each row shows where its best match is, the matched words highlighted; opening it shows the
branch that matched. The list only shows and asks: the controller changes the store.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.core.queries import HIT_END, HIT_START, SidebarRow, date_group

from .delegate import (
    DRAFT_LABEL,
    DRAFT_ROLE,
    HEADER_ROLE,
    ID_ROLE,
    MATCH_ROLE,
    PREVIEW_ROLE,
    TITLE_ROLE,
    ConversationDelegate,
    row_heights,
)

UNDO_SECONDS = 10
FILL_CHUNK = 50  # rows added per event-loop turn: more than a screenful (about 17 rows on 700 px)
ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
UNTITLED = "New conversation"
EMPTY_TEXT = "No conversations yet.\nStart one with “New chat”."
NO_MATCH_TEXT = "No conversation matches."


class ConversationList(QWidget):
    """Shows conversations; emits requests, never touches the store itself."""

    conversationSelected = Signal(int)
    searchHitSelected = Signal(int, int)  # conversation id, the message that matched
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
        self.list = self._build_list()
        self.empty_label = QLabel(EMPTY_TEXT)
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
        self._fill_generation = 0
        self.filling = False  # rows of a long history still being added, a chunk per event-loop turn
        self._heading_shown: str | None = None
        self._current_wanted: int | None = None
        self._drafts: dict[int, str] = {}
        self._today = date.today()
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
        self.search.returnPressed.connect(self._open_first)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.undo_button.clicked.connect(self._on_undo)
        self._undo_timer.timeout.connect(self.undo_bar.hide)
        self.delegate.renameCommitted.connect(self.renameRequested)
        self.delegate.buttonClicked.connect(self._on_row_button)
        delete = QAction("Delete conversation", self.list, shortcut=QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self._on_delete_current)
        self.list.addAction(delete)

    def _build_list(self) -> QListWidget:
        lst = QListWidget()
        lst.setObjectName("conversations")
        lst.setAccessibleName("Conversations")
        lst.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lst.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        lst.setTextElideMode(Qt.TextElideMode.ElideRight)
        lst.setLayoutMode(QListView.LayoutMode.Batched)  # a long list is laid out a batch per event-loop turn
        lst.setBatchSize(FILL_CHUNK)
        lst.setMouseTracking(True)  # the hover buttons follow the pointer
        lst.viewport().setAttribute(Qt.WidgetAttribute.WA_Hover)
        lst.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.delegate = ConversationDelegate(lst)
        lst.setItemDelegate(self.delegate)
        return lst

    # ---------------------------------------------------------------- display
    def show_rows(self, rows: list[SidebarRow], current_id: int | None, drafts: dict[int, str] | None = None) -> None:
        """Conversations under date headings, newest first; ``current_id`` selected (without reopening it);
        a conversation with an unsent draft shows "Draft:" and its words instead of the latest message.

        The first screenfuls appear at once; a long history is added in chunks on later event-loop turns,
        so a refresh never holds the window for long (bench/ui_sidebar.py)."""
        searching = bool(self.search.text().strip())
        self._fill_generation += 1
        self._heading_shown = None
        self._current_wanted = None if searching else current_id  # a hit opens by choosing it, even if open
        self._today = date.today()
        self._drafts = {} if searching else dict(drafts or {})  # a search shows where it matched
        self._sizes = row_heights(self.list.font())
        self.list.blockSignals(True)
        self.list.clear()
        self.list.blockSignals(False)
        self._add_rows(rows, 0, self._fill_generation)
        self.empty_label.setText(NO_MATCH_TEXT if searching else EMPTY_TEXT)
        self.empty_label.setVisible(not rows)

    def _add_rows(self, rows: list[SidebarRow], start: int, generation: int) -> None:
        if generation != self._fill_generation:
            return  # a newer refresh replaced the list meanwhile
        self.list.blockSignals(True)
        self.list.setUpdatesEnabled(False)
        try:
            for row in rows[start:start + FILL_CHUNK]:
                group = date_group(row.updated_at, self._today)
                if group != self._heading_shown:
                    self._heading_shown = group
                    heading = self._heading(group)
                    heading.setSizeHint(self._sizes[0])
                    self.list.addItem(heading)
                item = self._conversation_item(row)
                if self._drafts.get(row.conversation_id):
                    self._mark_draft(item, self._drafts[row.conversation_id])
                item.setSizeHint(self._sizes[1])
                self.list.addItem(item)
                if row.conversation_id == self._current_wanted:
                    self.list.setCurrentItem(item)
        finally:
            self.list.setUpdatesEnabled(True)
            self.list.blockSignals(False)
        self.filling = start + FILL_CHUNK < len(rows)
        if self.filling:
            QTimer.singleShot(0, self, lambda: self._add_rows(rows, start + FILL_CHUNK, generation))

    @staticmethod
    def _heading(text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(HEADER_ROLE, True)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable: the arrow keys step over it
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{text}:")
        return item

    @staticmethod
    def _conversation_item(row: SidebarRow) -> QListWidgetItem:
        title = row.title or UNTITLED
        item = QListWidgetItem(title)
        item.setFlags(ROW_FLAGS)
        item.setData(ID_ROLE, row.conversation_id)
        item.setData(TITLE_ROLE, row.title)
        item.setData(PREVIEW_ROLE, row.preview)
        item.setData(MATCH_ROLE, row.matched_message_id)
        plain = row.preview.replace(HIT_START, "").replace(HIT_END, "")
        item.setToolTip(title)
        item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, plain)
        return item

    @staticmethod
    def _mark_draft(item: QListWidgetItem, line: str) -> None:
        item.setData(DRAFT_ROLE, line or None)
        plain = item.data(PREVIEW_ROLE).replace(HIT_START, "").replace(HIT_END, "")
        described = f"{DRAFT_LABEL}{line}" if line else plain
        item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, described)

    @Slot(int, str)
    def set_draft(self, conversation_id: int, line: str) -> None:
        """A conversation's draft changed while it was not being shown in the list: update its row alone."""
        if self.search.text().strip():
            return
        self._drafts[conversation_id] = line
        item = self.item_of(conversation_id)
        if item is not None:
            self._mark_draft(item, line)

    def drafts(self) -> list[str]:
        """Each row's draft line ("" without one), in list order."""
        return [item.data(DRAFT_ROLE) or "" for item in self._items()]

    def _items(self) -> list[QListWidgetItem]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item for item in items if not item.data(HEADER_ROLE)]

    def titles(self) -> list[str]:
        return [item.text() for item in self._items()]

    def headings(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count()) if self.list.item(i).data(HEADER_ROLE)]

    def previews(self) -> list[str]:
        return [item.data(PREVIEW_ROLE) for item in self._items()]

    def item_of(self, conversation_id: int) -> QListWidgetItem | None:
        return next((item for item in self._items() if self._id(item) == conversation_id), None)

    def current_conversation(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None or item.data(HEADER_ROLE) else self._id(item)

    def mark_current(self, conversation_id: int | None) -> None:
        """Select the open conversation's row without asking to open it again."""
        self._current_wanted = conversation_id  # a row still to come in a later chunk is selected on arrival
        item = None if conversation_id is None else self.item_of(conversation_id)
        self.list.blockSignals(True)
        if item is None:
            self.list.setCurrentItem(None)
        else:
            self.list.setCurrentItem(item)
            self.list.scrollToItem(item)
        self.list.blockSignals(False)

    def show_deleted(self, conversation_id: int, title: str) -> None:
        self._undo_id = conversation_id
        self.undo_label.setText(f"Deleted “{title or UNTITLED}”")
        self.undo_bar.show()
        self._undo_timer.start()

    # ------------------------------------------------------------------ slots
    def rename(self, conversation_id: int) -> QLineEdit | None:
        """Rename in place: a line edit over the row's title; returns it (None if the row is not shown)."""
        item = self.item_of(conversation_id)
        if item is None:
            return None
        self.list.scrollToItem(item)
        self.list.setFocus()
        self.list.editItem(item)
        return self.list.findChild(QLineEdit, "renameEdit")

    @Slot()
    def rename_current(self) -> None:
        conversation_id = self.current_conversation()
        if conversation_id is not None:
            self.rename(conversation_id)

    @staticmethod
    def _id(item: QListWidgetItem) -> int:
        return int(item.data(ID_ROLE))

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        if current is None or current.data(HEADER_ROLE):
            return
        match = current.data(MATCH_ROLE)
        if match is not None:
            self.searchHitSelected.emit(self._id(current), int(match))
        else:
            self.conversationSelected.emit(self._id(current))

    @Slot()
    def _open_first(self) -> None:
        """Enter in the search box opens the first result."""
        items = self._items()
        if items:
            self.list.setCurrentItem(items[0])
            self.list.setFocus()

    @Slot(str, int)
    def _on_row_button(self, name: str, conversation_id: int) -> None:
        if name == "rename":
            self.rename(conversation_id)
        else:
            self.deleteRequested.emit(conversation_id)

    @Slot()
    def _on_delete_current(self) -> None:
        conversation_id = self.current_conversation()
        if conversation_id is not None:
            self.deleteRequested.emit(conversation_id)

    @Slot()
    def _on_undo(self) -> None:
        if self._undo_id is not None:
            self.undoDeleteRequested.emit(self._undo_id)
        self._undo_id = None
        self.undo_bar.hide()

    def _on_context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(HEADER_ROLE):
            return
        conversation_id = self._id(item)
        menu = QMenu(self)
        menu.addAction("Rename…\tF2", lambda: self.rename(conversation_id))
        menu.addAction("Delete\tDel", lambda: self.deleteRequested.emit(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))
