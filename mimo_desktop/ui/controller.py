"""The chat controller: the only object that changes conversation state, always on the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mimo_desktop.core.conversation import Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store

from .main_window import MainWindow

TITLE_WORDS = 8
FAILED = object()  # what _guard returns when the store refused


def title_from(text: str) -> str:
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])
    return title + ("…" if len(words) > TITLE_WORDS else "")


class ChatController(QObject):
    def __init__(self, store: Store, window: MainWindow) -> None:
        super().__init__(window)
        self.store = store
        self.window = window
        self.current_id: int | None = None
        self._query = ""
        lst = window.conversations
        lst.conversationSelected.connect(self.open_conversation)
        lst.newRequested.connect(self.new_conversation)
        lst.renameRequested.connect(self.rename_conversation)
        lst.deleteRequested.connect(self.delete_conversation)
        lst.undoDeleteRequested.connect(self.undo_delete)
        lst.searchChanged.connect(self.search)
        window.composer.sendRequested.connect(self.send)
        window.exportRequested.connect(self.export_current)
        self.refresh_list()
        convs = self.store.conversations()
        if convs:
            self.open_conversation(convs[0].id)

    # -------------------------------------------------------------- helpers
    def _guard(self, action, *args):
        """Run a store action; a StoreError becomes a notice, never a traceback."""
        try:
            return action(*args)
        except StoreError as exc:
            self.window.show_notice(str(exc))
            return FAILED

    def refresh_list(self) -> None:
        convs = self._guard(
            self.store.search_conversations if self._query.strip() else lambda _q: self.store.conversations(),
            self._query,
        )
        self.window.conversations.show_conversations([] if convs is FAILED else convs, self.current_id)

    def refresh_thread(self) -> None:
        if self.current_id is None:
            self.window.chat.show_placeholder()
            return
        thread = self._guard(self.store.thread, self.current_id)
        if thread is not FAILED:
            self.window.chat.show_messages(thread)

    # ---------------------------------------------------------------- slots
    @Slot(int)
    def open_conversation(self, conversation_id: int) -> None:
        self.current_id = conversation_id
        self.refresh_thread()

    @Slot()
    def new_conversation(self) -> None:
        conv = self._guard(self.store.create_conversation, "")
        if conv is FAILED:
            return
        self.current_id = conv.id
        self.window.conversations.search.clear()
        self.refresh_list()
        self.refresh_thread()
        self.window.composer.edit.setFocus()

    @Slot(int, str)
    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._guard(self.store.rename_conversation, conversation_id, title)
        self.refresh_list()

    @Slot(int)
    def delete_conversation(self, conversation_id: int) -> None:
        conv = self._guard(self.store.conversation, conversation_id)
        if conv is FAILED or self._guard(self.store.delete_conversation, conversation_id) is FAILED:
            return
        self.window.conversations.show_deleted(conversation_id, conv.title)
        if conversation_id == self.current_id:
            remaining = self._guard(self.store.conversations)
            self.current_id = remaining[0].id if remaining is not FAILED and remaining else None
        self.refresh_list()
        self.refresh_thread()

    @Slot(int)
    def undo_delete(self, conversation_id: int) -> None:
        self._guard(self.store.restore_conversation, conversation_id)
        self.current_id = conversation_id
        self.refresh_list()
        self.refresh_thread()

    @Slot(str)
    def search(self, query: str) -> None:
        self._query = query
        self.refresh_list()

    @Slot(str)
    def send(self, text: str) -> None:
        if self.current_id is None:
            conv = self._guard(self.store.create_conversation, title_from(text))
            if conv is FAILED:
                self.window.composer.edit.setPlainText(text)  # keep what was typed
                return
            self.current_id = conv.id
        else:
            conv = self._guard(self.store.conversation, self.current_id)
            if conv is not FAILED and not conv.title:
                self._guard(self.store.rename_conversation, self.current_id, title_from(text))
        if self._guard(self.store.add_message, self.current_id, Role.USER, text) is FAILED:
            self.window.composer.edit.setPlainText(text)
            return
        self.refresh_list()
        self.refresh_thread()
        self.after_user_message()

    def after_user_message(self) -> None:
        """Hook for the engine: ask for an answer to the current thread."""
        self.window.show_notice(
            "No engine is configured, so nobody will answer yet. Your message is saved. "
            "Open Settings to choose an embedded vLLM model folder or a remote server."
        )

    @Slot(str)
    def export_current(self, fmt: str) -> None:
        from mimo_desktop.core.export import export
        from mimo_desktop.core.export_cli import write_atomically

        if self.current_id is None:
            return
        suffix = {"md": "Markdown (*.md)", "json": "JSON (*.json)"}[fmt]
        path, _ = QFileDialog.getSaveFileName(self.window, "Export conversation", f"conversation.{fmt}", suffix)
        if not path:
            return
        try:
            text = export(self.store, fmt, [self.current_id])
            write_atomically(Path(path), text)
        except (StoreError, OSError) as exc:
            QMessageBox.warning(self.window, "Export failed", f"The conversation was not exported: {exc}")
