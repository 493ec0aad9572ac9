"""Sending a question and asking the engine for its answer: the part of ``ChatController`` that does it.

``send`` saves the question first (its files are copied in the background), ``after_user_message`` starts
the answer once the earlier turns' media is prepared (``HistoryMedia``), off the GUI thread.
A mixin of ``ChatController``: it uses the controller's store, window, outbox, drafts and engine parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Slot

from mimo_desktop.core.conversation import Message, MessageState, Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.titles import title_from

from .thread_facts import NO_ENGINE

if TYPE_CHECKING:
    from mimo_desktop.engine.history import PreparedHistory

FAILED = object()  # what ChatController._guard returns when the store refused


class Sending:
    """``ChatController.send`` and what follows it, up to the request handed to the streamer."""

    @Slot(str, list)
    def send(self, text: str, drafts: list | None = None) -> None:
        """The composer's one Send: the question is saved first, its files copied in the background.

        Until the question is saved the composer keeps the text and the chips, so a failure loses nothing."""
        if self._busy():
            self.window.show_notice("An answer is still streaming: stop it (Esc) or wait, then send.")
            return
        drafts = [d for d in (drafts or []) if getattr(d, "prepared", None) is not None and not d.error]
        try:
            stored = self.outbox.reserve(drafts)
        except (StoreError, OSError) as exc:
            self.window.show_notice(str(exc))
            return
        editing, self._editing = self._editing, None
        self.window.show_editing(False)
        if self.current_id is None:
            conv = self._guard(self.store.create_conversation, title_from(text))
            if conv is FAILED:
                self.outbox.unreserve(stored)
                self._restore_draft(editing)
                return
            self.current_id = conv.id
            self.drafts.adopt(conv.id)
        else:
            conv = self._guard(self.store.conversation, self.current_id)
            if conv is not FAILED and not conv.title:
                self._guard(self.store.rename_conversation, self.current_id, title_from(text))
        parent = {"parent_id": editing.parent_id} if editing is not None else {}
        user = self._guard(lambda: self.store.add_message(self.current_id, Role.USER, text,
                                                          attachments=stored, **parent))
        if user is FAILED:
            self.outbox.unreserve(stored)
            self._restore_draft(editing)
            return
        self.outbox.copy_in_background([a.sha256 for a in stored])
        self.outbox.remember([d.prepared for d in drafts])
        self.window.composer.clear_sent()
        self.drafts.save()  # sent: the draft is gone, on disk too
        self.refresh_list()
        self.after_user_message(user, tuple(d.prepared for d in drafts))

    def _restore_draft(self, editing) -> None:
        """The send failed: the text and chips are still in the composer; give back the edit mode."""
        self._editing = editing
        self.window.show_editing(editing is not None)

    def after_user_message(self, user: Message, media: tuple = ()) -> None:
        """Ask the engine for an answer to ``user`` (a new branch if it already has answers)."""
        if not self.engine.configured:
            self.refresh_thread()
            self.window.show_notice(NO_ENGINE)
            return
        self.window.show_notice("")
        answer = self._guard(lambda: self.store.add_message(
            user.conversation_id, Role.ASSISTANT, "", state=MessageState.STREAMING, parent_id=user.id))
        if answer is FAILED:
            self.refresh_thread()
            return
        request_id = self.streamer.begin(answer)
        self.refresh_thread()
        thread = self._guard(self.store.thread, user.conversation_id, user.id)
        if thread is FAILED:
            self.streamer.stop()
            return
        from mimo_desktop.engine.history import MediaJob, PreparedHistory

        # the question's own media comes prepared from the composer; on regenerate, from its files
        from_files = thread if not media else thread[:-1]
        earlier = tuple((m.id, self.outbox.readable_path(a), a.sha256, a.kind)
                        for m in from_files for a in m.attachments)
        self._pending[request_id] = (user.id, media)
        self._preparing = {request_id: ", ".join(a.name for m in from_files for a in m.attachments)}
        if earlier:
            self.history_media.start(MediaJob(request_id, earlier, self.engine.choice.model_dir,
                                              self.outbox.cache))
        else:
            self._on_history_prepared(request_id, PreparedHistory())

    @Slot(str, object)
    def _on_history_prepared(self, request_id: str, history: PreparedHistory) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return
        user_id, media = pending
        user = self._guard(self.store.message, user_id)
        thread = self._guard(self.store.thread, user.conversation_id, user_id) if user is not FAILED else FAILED
        if thread is FAILED:
            self.streamer.stop()
            return
        if history.notes:
            self.window.show_notice(" ".join(history.notes))
        from mimo_desktop.engine.history import turns_from_thread

        turns = turns_from_thread(thread, {**history.by_message, **({user_id: media} if media else {})})
        sampling, system_prompt = self.engine.sampling_for(user.conversation_id)
        self.streamer.submit(request_id, turns, sampling, system_prompt)

    def _waiting_phase(self) -> str:
        """What the answer waits for, for the line the chat view shows until its first token."""
        current = self.streamer.current if self._engine_parts is not None else None
        if current is not None and current.request_id in self._pending and self._preparing.get(current.request_id):
            return f"preparing {self._preparing[current.request_id]}"
        if self._engine_parts is not None and self.bridge.state == "starting":
            return "starting the engine"
        return "waiting for the model"
