"""Says in the window what the database writer is going through: locked, full, written again.

The writer reports from its own thread; the status crosses to the GUI thread as a queued signal.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from mimo_desktop.core.store import Store
from mimo_desktop.core.writer import OK, WriterStatus

SAVED_AGAIN = "The history is written again: nothing was lost."


class StoreStatus(QObject):
    statusChanged = Signal(object)  # WriterStatus, emitted on the writer's thread

    def __init__(self, store: Store, window, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.window = window
        self._shown = ""  # the notice this object put up, to clear only its own
        self.statusChanged.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        store.on_status = self.statusChanged.emit
        # the window (and this) may go before the store closes: stop the writer calling a deleted object
        self.destroyed.connect(lambda *_: setattr(store, "on_status", None))
        if store.read_only_reason:
            self._show(store.read_only_reason)
        elif store.replayed:
            self._show(f"{store.replayed} change(s) the last session could not save were written now.")

    @Slot(object)
    def _on_status(self, status: WriterStatus) -> None:
        if status.state == OK:
            if self._shown and self.window.notice.text() == self._shown:
                self._show(SAVED_AGAIN)
            return
        self._show(self.store.status_sentence(status))

    def _show(self, text: str) -> None:
        self._shown = text
        self.window.show_notice(text)
