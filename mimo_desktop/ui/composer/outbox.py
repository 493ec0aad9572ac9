"""A sent question's attachments: recorded at once, copied into the attachment store in the background.

The question is saved before any byte is copied (the hash comes from preparation), so a failed
or killed copy never loses what was typed; the copy then runs on a ``Background`` worker, never on
the GUI thread (a 1 GiB clip froze the window for 6 s). What a kill interrupted is finished at the
next start (``BlobStore.recover``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from mimo_desktop.core.blobs import BlobStore
from mimo_desktop.media import spill
from mimo_desktop.core.conversation import Attachment
from mimo_desktop.core.errors import StoreError

from ..background import Background


class AttachmentSaver(QObject):
    failed = Signal(str)  # a sentence for the notice bar

    def __init__(self, blobs: BlobStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blobs = blobs
        spill.set_folder(blobs.root / ".spill")  # big decoded frames spill beside this store's attachments
        self._background = Background(self, max_workers=1, name="mimo-attachment-copy")
        self._cache: Any = None
        self._cache_lock = threading.Lock()
        self._unsent: set[str] = set()  # hashes noted by reserve() for a question not saved yet
        self._cache_writes: list = []  # Background tasks writing prepared media to disk: dropped at quitting

    @property
    def cache(self) -> Any:
        """Prepared media of sent attachments (media.cache.PreparedCache), on disk beside them."""
        with self._cache_lock:
            if self._cache is None:
                from mimo_desktop.media.cache import PreparedCache  # numpy: built on first use, not at start-up

                self._cache = PreparedCache(self.blobs.root / ".prepared")
            return self._cache

    def remember(self, items: list[Any]) -> None:
        """Sent items stay prepared for the next turns: in memory now, on disk in the background."""
        for item in items:
            self.cache.put(item, disk=False)
            self._cache_writes = [t for t in self._cache_writes if t.future is None or not t.future.done()]
            self._cache_writes.append(self._background.run(self.cache.put, item, on_error=self._on_cache_failed))

    def readable_path(self, attachment: Any) -> Path:
        """Where an attachment's bytes are now: its stored copy, or the original while the copy runs."""
        path = self.blobs.path_for(attachment.sha256)
        return path if path.is_file() else (self.blobs.pending_source(attachment.sha256) or path)

    def reserve(self, drafts: list[Any]) -> list[Attachment]:
        """The attachment records of prepared drafts, each noted as pending; raises StoreError."""
        records = []
        for draft in drafts:
            item = draft.prepared
            sha = item.sha256
            try:
                if self.blobs.reserve(Path(draft.path), sha):
                    self._unsent.add(sha)
            except StoreError as exc:
                self.unreserve(records)
                raise StoreError(f"The attachment {Path(draft.path).name} could not be saved: {exc}") from None
            size = int(item.details.get("bytes") or 0) or Path(draft.path).stat().st_size
            records.append(Attachment(sha256=sha, kind=item.kind, name=Path(draft.path).name, size=size,
                                      tokens=item.total_tokens))
        return records

    def unreserve(self, records: list[Attachment]) -> None:
        """The question was not saved: forget the copies reserve() noted for it (a copy noted by an earlier,
        saved question stays), so the next start does not copy files no message names."""
        for sha in dict.fromkeys(a.sha256 for a in records):
            if sha in self._unsent:
                self._unsent.discard(sha)
                self.blobs.unreserve(sha)

    def copy_in_background(self, shas: list[str]) -> None:
        self._unsent.difference_update(shas)  # saved: these copies are the question's now
        for sha in dict.fromkeys(shas):
            if not self.blobs.has(sha):
                self._background.run(self.blobs.complete, sha, on_error=self._on_copy_failed)

    def recover(self) -> None:
        """At start-up: half-written files go, copies a kill interrupted are finished, and prepared
        media of attachments that are gone are swept from the disk cache."""
        self.copy_in_background(self.blobs.recover())
        if (self.blobs.root / ".prepared").is_dir():
            self._background.run(self._sweep, on_error=self._on_cache_failed)  # numpy loads there, not here

    def _sweep(self) -> int:
        return self.cache.sweep(self._still_there)

    def _still_there(self, sha256: str) -> bool:
        return self.blobs.has(sha256) or self.blobs.pending_source(sha256) is not None

    def _on_cache_failed(self, exc: BaseException) -> None:
        pass  # a cache that cannot be written only costs the next turn a decode

    def is_busy(self) -> bool:
        return self._background.is_busy()

    def shutdown(self) -> None:
        """Finishes every copy, the queued ones too: a pasted picture's or a capture's source is in the
        composer's scratch folder, deleted right after this, so a dropped copy would lose the file the
        question names. Only the prepared-media cache writes still queued are dropped (a decode next time)."""
        for task in self._cache_writes:
            task.cancel()
        self._cache_writes.clear()
        self._background.shutdown(wait=True, cancel_queued=False)

    def _on_copy_failed(self, exc: BaseException) -> None:
        self.failed.emit(f"An attachment could not be saved: {exc}")
