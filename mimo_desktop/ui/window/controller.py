"""The chat controller: the only object that changes conversation state, always on the GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QGuiApplication

from mimo_desktop.core import queries
from mimo_desktop.core.budget import history_tokens
from mimo_desktop.core.conversation import Message, Role
from mimo_desktop.core.drafts import DraftBook
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store

from ..composer.drafts import DraftKeeper
from .main import MainWindow
from ..chat.message_html import Branch
from .sending import FAILED, Sending
from .theme import THEME_SETTING, apply_window_theme
from .thread_facts import export_with_dialog
from .layout import WindowLayout

if TYPE_CHECKING:
    from ..engine.bridge import EngineBridge
    from ..engine.control import EngineControl
    from ..engine.generation import AnswerStreamer
    from ..chat.history_media import HistoryMedia

class ChatController(Sending, QObject):
    """Conversations, sending, regenerating, editing and branches; the engine side lives in
    EngineControl (settings, status) and AnswerStreamer (one streaming answer)."""

    def __init__(self, store: Store, window: MainWindow) -> None:
        super().__init__(window)
        self.store = store
        self.window = window
        self.current_id: int | None = None
        self._query = ""
        self._editing: Message | None = None
        self._shut_down = False
        self._pending: dict[str, tuple[int, tuple]] = {}  # request id -> (user message id, its media)
        self._engine_parts: tuple[EngineBridge, EngineControl, AnswerStreamer, HistoryMedia] | None = None
        self._preparing: dict[str, str] = {}  # request id -> names of the earlier media being prepared
        window.chat.actionRequested.connect(self._on_message_action)
        window.chat.waiting_phase = self._waiting_phase
        window.chat.media.path_of = store.attachment_path
        window.stopRequested.connect(self.stop)
        window.composer.stopRequested.connect(self.stop)
        window.cancelEditRequested.connect(self.cancel_edit)
        window.settingsRequested.connect(self.open_settings)
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_system_scheme_changed)
        self.apply_theme()
        lst = window.conversations
        lst.conversationSelected.connect(self.open_conversation)
        lst.searchHitSelected.connect(self.open_search_hit)
        lst.newRequested.connect(self.new_conversation)
        lst.renameRequested.connect(self.rename_conversation)
        lst.deleteRequested.connect(self.delete_conversation)
        lst.undoDeleteRequested.connect(self.undo_delete)
        lst.searchChanged.connect(self.search)
        window.composer.sendRequested.connect(self.send)
        window.exportRequested.connect(self.export_current)
        from ..composer.outbox import AttachmentSaver

        self.outbox = AttachmentSaver(store.blobs, self)
        self.outbox.failed.connect(window.show_notice)
        live = self._guard(store.conversations)
        self.drafts = DraftKeeper(DraftBook(store.db_path.parent), window.composer, window.show_notice, self,
                                  in_use=store.blobs.pending_sources(),
                                  conversations=None if live is FAILED else [c.id for c in live])
        self.drafts.draftLeft.connect(window.conversations.set_draft)
        self.window_layout = WindowLayout(window, store.db_path.parent / "window.ini")
        self.outbox.recover()
        self.refresh_list()
        convs = self.store.conversations()
        if convs:
            self.open_conversation(convs[0].id)
        self.drafts.follow(self.current_id)

    # --------------------------------------------------------------- engine
    # The engine side (EngineHost, asyncio, httpx for a server) loads when an engine is configured
    # or first needed, not with the window: a first run shows its window as fast as a bare one.
    def _engine(self):
        if self._engine_parts is None:
            from ..engine.bridge import EngineBridge
            from ..engine.control import EngineControl
            from ..engine.generation import AnswerStreamer
            from ..chat.history_media import HistoryMedia

            bridge = EngineBridge(self)
            control = EngineControl(self.store, self.window, bridge, lambda: self.current_id)
            streamer = AnswerStreamer(self.store, bridge, self.window.chat, self)
            media = HistoryMedia(self)
            streamer.busyChanged.connect(self.window.composer.set_busy)
            streamer.busyChanged.connect(self._on_busy_changed)
            streamer.liveRate.connect(self.window.engine_status.show_live)
            streamer.problem.connect(self.window.show_notice)
            media.prepared.connect(self._on_history_prepared)
            control.engineReady.connect(self._update_context_meter)
            control.engineReplacing.connect(streamer.shutdown)  # the answer so far is kept, as stopped
            self._engine_parts = (bridge, control, streamer, media)
        return self._engine_parts

    @property
    def bridge(self) -> EngineBridge:
        return self._engine()[0]

    @property
    def engine(self) -> EngineControl:
        return self._engine()[1]

    @property
    def streamer(self) -> AnswerStreamer:
        return self._engine()[2]

    @property
    def history_media(self) -> HistoryMedia:
        return self._engine()[3]

    def _busy(self) -> bool:
        return self._engine_parts is not None and self.streamer.busy

    def start_engine_from_settings(self) -> None:
        """At start-up: the engine the settings name, or the first-run panel (no engine code loaded)."""
        raw = self._guard(self.store.setting, "engine", {})
        if raw is FAILED or not isinstance(raw, dict) or raw.get("kind") not in ("vllm", "remote"):
            self.window.show_first_run()
            return
        self.engine.start_from_settings()

    @Slot()
    def open_settings(self):
        return self.engine.open_settings()

    def apply_theme(self) -> None:
        mode = self._guard(self.store.setting, THEME_SETTING, "system")
        apply_window_theme(self.window, "system" if mode is FAILED else mode)

    @Slot()
    def _on_system_scheme_changed(self, *_args) -> None:
        if self._guard(self.store.setting, THEME_SETTING, "system") == "system":
            self.apply_theme()

    # -------------------------------------------------------------- helpers
    def _guard(self, action, *args):
        """Run a store action; a StoreError becomes a notice, never a traceback."""
        try:
            return action(*args)
        except StoreError as exc:
            self.window.show_notice(str(exc))
            return FAILED

    def refresh_list(self) -> None:
        conn = queries.read_connection(self.store)
        rows = self._guard(lambda: queries.search_rows(conn, self._query) if self._query.strip()
                           else queries.sidebar_rows(conn))
        self.window.conversations.show_rows([] if rows is FAILED else rows, self.current_id, self.drafts.summaries())

    def refresh_thread(self) -> None:
        self.drafts.follow(self.current_id)  # the composer shows the draft of the conversation shown
        if self.current_id is None:
            self.window.chat.show_placeholder()
            return
        thread = self._guard(self.store.thread, self.current_id)
        if thread is FAILED:
            return
        branches = {}
        forks = self._guard(self.store.branch_points, self.current_id)
        for msg in thread:
            if forks is not FAILED and (msg.parent_id, msg.role.value) not in forks:
                continue  # no alternatives here: one query for all of them instead of three each
            siblings = self._guard(self.store.siblings, msg.id)
            if siblings is not FAILED and len(siblings) > 1:
                branches[msg.id] = Branch(siblings.index(msg.id) + 1, len(siblings))
        self.window.chat.show_messages(thread, branches)
        self._update_context_meter(thread)

    def _update_context_meter(self, thread: list[Message] | None = None) -> None:
        """Tell the composer how much of the engine's context the conversation already takes."""
        set_limit = getattr(self.window.composer, "set_context_limit", None)
        if set_limit is None:
            return
        if thread is None:
            thread = [] if self.current_id is None else self._guard(self.store.thread, self.current_id)
            thread = [] if thread is FAILED else thread
        info = self.bridge.info if self._engine_parts is not None else None
        set_limit(info.max_context if info is not None else None, history_tokens(thread))

    # ---------------------------------------------------------------- slots
    @Slot(int)
    def open_conversation(self, conversation_id: int) -> None:
        if conversation_id != self.current_id:
            self.cancel_edit()
        self.current_id = conversation_id
        self.window.conversations.mark_current(conversation_id)
        self.refresh_thread()

    @Slot(int, int)
    def open_search_hit(self, conversation_id: int, message_id: int) -> None:
        """A search result: the conversation, on the branch where the match is, scrolled to the
        message that matched, which is highlighted for a moment."""
        conn = queries.read_connection(self.store)
        shown = self._guard(queries.on_shown_branch, conn, message_id)
        if shown is False and not self._busy():
            self._guard(self.store.switch_branch, message_id)
        self.open_conversation(conversation_id)
        self.window.chat.reveal_message(message_id, self._query)

    @Slot()
    def new_conversation(self) -> None:
        """A blank conversation: an empty one already there (no title, no message) is reused, not piled up."""
        self.cancel_edit()
        reuse = self._guard(queries.empty_conversation, queries.read_connection(self.store),
                            self.drafts.conversations_with_drafts())
        if reuse is None:
            conv = self._guard(self.store.create_conversation, "")
            reuse = FAILED if conv is FAILED else conv.id
        if reuse is FAILED:
            return
        self.current_id = reuse
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

    @Slot()
    def stop(self) -> None:
        if self._engine_parts is not None:
            self.streamer.stop()

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        if not busy:
            QTimer.singleShot(0, self, self._after_answer)  # its own event-loop turn: the answer's end was this one

    @Slot()
    def _after_answer(self) -> None:
        self.refresh_list()
        self._update_context_meter()

    # ------------------------------------------------------ message actions
    @Slot(str, int, int)
    def _on_message_action(self, action: str, message_id: int, arg: int) -> None:
        if action in ("regenerate", "retry"):
            self.regenerate(message_id)
        elif action == "edit":
            self.begin_edit(message_id)
        elif action == "branch":
            self.switch_branch(message_id, arg)

    def regenerate(self, answer_id: int) -> None:
        """A new answer beside ``answer_id``, under the same question."""
        if self._busy():
            return
        answer = self._guard(self.store.message, answer_id)
        if answer is FAILED or answer.parent_id is None:
            return
        user = self._guard(self.store.message, answer.parent_id)
        if user is not FAILED:
            self.after_user_message(user)

    def begin_edit(self, message_id: int) -> None:
        msg = self._guard(self.store.message, message_id)
        if msg is FAILED or msg.role is not Role.USER:
            return
        self._editing = msg
        self.window.composer.edit.setPlainText(msg.text)
        self.window.composer.edit.setFocus()
        self.window.show_editing(True)

    @Slot()
    def cancel_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.window.composer.edit.clear()
        self.window.show_editing(False)

    def switch_branch(self, message_id: int, step: int) -> None:
        if self._busy():
            return
        siblings = self._guard(self.store.siblings, message_id)
        if siblings is FAILED or message_id not in siblings:
            return
        target = siblings[(siblings.index(message_id) + step) % len(siblings)]
        if self._guard(self.store.switch_branch, target) is not FAILED:
            self.refresh_thread()

    @Slot()
    def shutdown(self) -> None:
        """Ordered: stop the answer (kept, marked stopped), stop workers, then the engine. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self.drafts.shutdown()  # first: the composer's shutdown deletes its scratch files (pasted pictures)
        if self._engine_parts is not None:
            self.streamer.shutdown()
        self.window.chat.shutdown()
        if self._engine_parts is not None:
            self.history_media.shutdown()
        self.outbox.shutdown()  # before the composer: its scratch folder holds sources of copies still queued
        stop_composer = getattr(self.window.composer, "shutdown", None)
        if stop_composer is not None:
            stop_composer()
        if self._engine_parts is not None:
            self.bridge.shutdown()

    @Slot(str)
    def export_current(self, fmt: str) -> None:
        if self.current_id is not None:
            export_with_dialog(self.window, self.store, self.current_id, fmt)
