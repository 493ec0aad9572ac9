"""Each conversation keeps its own unsent draft (text and attachments): switching swaps them, quitting keeps them.

The keeper follows the conversation the window shows. It writes the drafts a second after the typing stops,
when the conversation changes, after a send and at shutdown (before the composer deletes its scratch files).
Within a session a draft's chips are kept as they are (prepared, previews, a long file's go-ahead) and come
back without decoding again; ``drafts.json`` carries the files' names across restarts.
It uses only the composer's public side: text, kept_chips, restore_chips, add_files, clear_attachments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QTextCursor

from mimo_desktop.core.drafts import Draft, DraftBook, DraftError, draft_key, summary

from ..background import Background

SAVE_AFTER_MS = 1000
KEEP_PREPARED_BYTES = 1 << 30  # prepared media held for drafts not shown; beyond, the oldest left prepare anew
_NOTHING_SHOWN = object()  # before the first follow(): even "no conversation" has a draft to show


class DraftKeeper(QObject):
    draftLeft = Signal(int, str)  # conversation id, its draft's line ("" for none): for the sidebar

    def __init__(self, book: DraftBook, composer, notice: Callable[[str], None], parent: QObject | None = None,
                 *, in_use: Iterable[Path] = (), conversations: Iterable[int] | None = None):
        super().__init__(parent)
        self.book = book
        self._composer = composer
        self._notice = notice
        self._conversation_id: int | None | object = _NOTHING_SHOWN
        self._loading = False
        self._chips: dict[str, list] = {}  # draft key -> the composer's chips when it was left (this session)
        self._copier = Background(self, max_workers=1, name="mimo-draft-copy")  # captures: not on the GUI thread
        self._copying: set[Path] = set()
        self._not_copied: set[Path] = set()  # copies that failed (a full disk): not tried again and again
        self._timer = QTimer(self, singleShot=True, interval=SAVE_AFTER_MS)
        self._timer.timeout.connect(self.save)
        composer.edit.textChanged.connect(self._on_changed)
        composer.attachmentsChanged.connect(self._on_changed)
        if book.note:
            notice(book.note)
        if conversations is not None:
            book.keep_only(conversations)  # a deleted conversation's draft, and its copies, go at the next start
        book.prune(in_use)  # a sent draft's copy still pending keeps its file

    def follow(self, conversation_id: int | None) -> None:
        """The window now shows ``conversation_id``: keep the draft of the one it showed, show this one's."""
        if conversation_id == self._conversation_id:
            return
        self._capture()
        left, self._conversation_id = self._conversation_id, conversation_id
        if isinstance(left, int):
            self.draftLeft.emit(left, summary(self.book.get(left)))
        if conversation_id is not None:
            self.draftLeft.emit(conversation_id, "")  # open: its draft is in the composer, not the list
        self._bound_kept(draft_key(conversation_id))
        self._show(self.book.get(conversation_id), self._chips.get(draft_key(conversation_id)))
        self.save()

    def adopt(self, conversation_id: int) -> None:
        """The conversation was just made from what the composer holds (the first send): it is that one's now,
        no longer the draft of "no conversation" (else it came back once the last conversation was deleted)."""
        if self._conversation_id is None:
            self.book.put(None, Draft())
            self._chips.pop(draft_key(None), None)
        self._conversation_id = conversation_id

    def summaries(self) -> dict[int, str]:
        """The drafts' lines of the conversations not open now."""
        open_now = self._conversation_id if isinstance(self._conversation_id, int) else None
        return self.book.summaries(leave_out=open_now)

    def conversations_with_drafts(self) -> set[int]:
        self._capture()
        return self.book.conversations()

    @Slot()
    def save(self, durable: bool = False) -> None:
        self._timer.stop()
        self._capture()
        try:
            self.book.save(durable=durable)
        except DraftError as exc:
            self._notice(str(exc))

    def shutdown(self) -> None:
        """At quitting: the copies under way finished (the scratch files go next), the drafts synced to disk."""
        self._copier.shutdown(wait=True, cancel_queued=False)
        self._timer.stop()
        self._capture(copy=True)
        try:
            self.book.save(durable=True)
        except DraftError as exc:
            self._notice(str(exc))

    # ------------------------------------------------------------------ internals
    def _capture(self, copy: bool = False) -> None:
        if self._conversation_id is _NOTHING_SHOWN:
            return
        chips = self._composer.kept_chips()
        self._chips.pop(draft_key(self._conversation_id), None)
        self._chips[draft_key(self._conversation_id)] = chips  # the most recently left last
        self.book.put(self._conversation_id, Draft(self._composer.text(), tuple(Path(d.path) for d, _ in chips)),
                      copy=copy)
        if not copy:
            for path in self.book.to_copy():
                if path not in self._copying and path not in self._not_copied:
                    self._copying.add(path)
                    self._copier.run(self.book.make_copy, path, on_done=partial(self._copied, path),
                                     on_error=partial(self._copied, path))

    def _copied(self, path: Path, result: object) -> None:
        self._copying.discard(path)
        if result == path or isinstance(result, BaseException):
            self._not_copied.add(path)
        self.save()  # the drafts now name the copy (or, if it failed, still the original while it lasts)

    def _bound_kept(self, shown: str) -> None:
        """The kept chips of drafts not shown hold at most ``KEEP_PREPARED_BYTES`` of prepared media: the
        conversations left longest ago let theirs go (their files are prepared again on return)."""
        held = {key: [d.prepared for d, _ in chips if d.prepared is not None] for key, chips in self._chips.items()}
        if not any(held.values()):
            return
        from mimo_desktop.media.cache import item_bytes  # numpy: loaded already, something was prepared

        total = 0
        for key in reversed(list(self._chips)):
            if key != shown:
                total += sum(item_bytes(item) for item in held[key])
                if total > KEEP_PREPARED_BYTES:
                    del self._chips[key]

    def _show(self, draft: Draft, chips: list | None) -> None:
        """``chips``: the conversation's chips as they were left this session; else its files, prepared anew."""
        self._loading = True
        try:
            self._composer.clear_attachments(give_back=False)  # the chips left stay prepared, in _chips
            self._composer.edit.setPlainText(draft.text)
            self._composer.edit.moveCursor(QTextCursor.MoveOperation.End)
            if chips is not None:
                files = [Path(d.path) for d, _ in chips]
                present = [f for f in files if f.is_file()]
                self._composer.restore_chips([c for c in chips if Path(c[0].path) in present])
            else:
                files = list(draft.files)
                present = [f for f in files if f.is_file()]
                if present:
                    self._composer.add_files(present)
        finally:
            self._loading = False
        missing = [f for f in files if f not in present]
        if missing:
            names = ", ".join(str(f) for f in missing)
            self._notice(f"Your draft named {names}, which is no longer there; the rest of the draft is back.")

    @Slot()
    def _on_changed(self) -> None:
        if not self._loading:
            self._timer.start()
