"""The composer: multi-line input, attachments as chips, a context meter, Send and Stop.

Enter sends, Shift+Enter starts a new line. Files come in by drag-and-drop, paste
(images and file URLs), the attach button (Ctrl+O) or a capture. Each file is
prepared by the media layer off the GUI thread; Send stays disabled, with the
reason shown, while a file is being prepared, while one is in error, or when the
message would not fit in the engine's context.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.core.budget import ContextBudget

from .attachments import (
    AttachmentChip,
    AttachmentStrip,
    DraftAttachment,
    ScratchFolder,
    file_dialog_filter,
    guess_kind,
)
from .media_worker import MediaResult, MediaWorker, MemoryReturn
from .message_edit import MessageEdit, local_files

class Composer(QWidget):
    sendRequested = Signal(str, list)  # the text and the prepared DraftAttachments, in chip order
    stopRequested = Signal()
    attachmentsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_layout()
        self._busy = False
        self._external_reason = ""
        self._drafts: dict[int, DraftAttachment] = {}  # in the order they were added
        self._results: dict[int, tuple[MediaResult, Any]] = {}  # chip id -> its result and the config used
        self._chip_ids = itertools.count(1)
        self._config: Any = None  # ProcessorConfig; built-in defaults until a model folder is set
        self._config_note = ""
        self._capture_note = ""  # why the last capture failed, until something is attached
        self._config_request = 0
        self._context_limit: int | None = None
        self._history_tokens = 0
        self._scratch = ScratchFolder()
        self._capture_dialog: QWidget | None = None
        self._worker = MediaWorker(self)
        self._memory = MemoryReturn(self)
        self._worker.prepared.connect(self._on_prepared)
        self._worker.estimated.connect(self._on_estimated)
        self._worker.progressed.connect(self._on_progressed)
        self._worker.configLoaded.connect(self._on_config_loaded)
        self.edit.submitted.connect(self._on_submit)
        self.edit.textChanged.connect(self._refresh)
        self.edit.filesInserted.connect(self.add_files)
        self.edit.imageInserted.connect(self.add_image)
        self.send_button.clicked.connect(self._on_submit)
        self.stop_button.clicked.connect(self.stopRequested)
        self.attach_button.clicked.connect(self.choose_files)
        QShortcut(QKeySequence.StandardKey.Open, self, self.choose_files)
        self._refresh()

    def _build_widgets(self) -> None:
        self.edit = MessageEdit()
        self.edit.setObjectName("messageEdit")
        self.edit.setAccessibleName("Message")
        self.edit.setPlaceholderText("Ask about an image, a video or a recording…  (Enter sends, Shift+Enter: new line)")
        self.edit.setMaximumHeight(140)
        self.strip = AttachmentStrip()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.hide()
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setText("Attach…")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip("Attach images, videos or audio (Ctrl+O)")
        self.capture_button = QToolButton()
        self.capture_button.setObjectName("captureButton")
        self.capture_button.setText("Capture")
        self.capture_button.setAccessibleName("Capture from camera, microphone or screen")
        self.capture_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.capture_button.setMenu(self._capture_menu())
        self.meter = QLabel()
        self.meter.setObjectName("contextMeter")
        self.meter.setAccessibleName("Context used")
        self.reason = QLabel()
        self.reason.setObjectName("composerReason")
        self.reason.setAccessibleName("Why Send is unavailable")
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: gray")
        self.reason.hide()

    def _build_layout(self) -> None:
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.capture_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        layout.addWidget(self.strip)
        layout.addLayout(row)
        layout.addWidget(self.meter)
        layout.addWidget(self.reason)

    def _capture_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("captureMenu")
        for text, kind in (
            ("Take a &photo…", "photo"),
            ("Record a &video clip…", "clip"),
            ("Record &audio…", "audio"),
            ("Capture the whole &screen", "screen"),
            ("Capture a screen &region…", "region"),
        ):
            action = menu.addAction(text)
            action.setData(kind)
        menu.triggered.connect(self._on_capture_chosen)
        return menu

    # ------------------------------------------------------------------ contract
    def set_busy(self, busy: bool) -> None:
        """While an answer streams, Send becomes Stop; the user may keep typing the next question."""
        self._busy = busy
        self.send_button.setVisible(not busy)
        self.stop_button.setVisible(busy)

    def set_blocked(self, reason: str) -> None:
        """A reason from outside (no engine, engine starting…) to keep Send disabled; "" lifts it."""
        self._external_reason = reason
        self._refresh()

    def text(self) -> str:
        return self.edit.toPlainText()

    def attachments(self) -> list[DraftAttachment]:
        return list(self._drafts.values())

    def kept_chips(self) -> list[tuple[DraftAttachment, Any]]:
        """The chips as they are (prepared data and preview included), for ``restore_chips`` later."""
        return [(draft, self._results.get(chip_id)) for chip_id, draft in self._drafts.items()]

    def restore_chips(self, kept: list[tuple[DraftAttachment, Any]]) -> None:
        """Chips taken from ``kept_chips`` back, not prepared again unless the model's config changed since."""
        for draft, shown in kept:
            chip_id = self._add_chip(draft)
            if shown is not None and shown[1] is self._current_config():
                self._results[chip_id] = shown
                self.strip.chips[chip_id].show_result(shown[0])
            else:
                draft.reset()
                self._worker.submit(chip_id, draft.path, self._current_config(), confirmed=draft.confirmed)
        if kept:
            self._refresh()
            self.attachmentsChanged.emit()

    def clear_attachments(self, *, give_back: bool = True) -> None:
        """Remove every chip; ``give_back``: return the freed decoder buffers to the system (once for all,
        off the GUI thread). Not after a send: the sent items stay prepared in the cache, nothing is freed."""
        held = [self._drop(chip_id) for chip_id in list(self._drafts)]
        if held:
            self._after_removal(give_back and any(held))

    def set_model_dir(self, path: Path | None) -> None:
        """Which model's processor config prices the attachments (None: built-in defaults, estimates)."""
        self._config_request += 1
        self._worker.load_config(self._config_request, None if path is None else Path(path))

    def set_context_limit(self, tokens: int | None, used_by_history: int) -> None:
        self._context_limit = tokens
        self._history_tokens = max(0, used_by_history)
        self._refresh()

    def shutdown(self) -> None:
        """Part of the app's ordered shutdown: close capture, stop the media pool, delete scratch files."""
        if self._capture_dialog is not None:
            self._capture_dialog.close()
        self._worker.shutdown()
        self._memory.shutdown()
        self._scratch.remove()

    # ------------------------------------------------------------------ adding files
    @Slot()
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach images, videos or audio", "", file_dialog_filter())
        self.add_files([Path(p) for p in paths])

    @Slot(list)
    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            path = Path(path)
            chip_id = self._add_chip(DraftAttachment(path=path, kind=guess_kind(path)))
            self._worker.submit(chip_id, path, self._current_config())
        if paths:
            self._capture_note = ""
            self._refresh()
            self.attachmentsChanged.emit()

    def _add_chip(self, draft: DraftAttachment) -> int:
        chip_id = next(self._chip_ids)
        self._drafts[chip_id] = draft
        chip = AttachmentChip(chip_id, draft)
        chip.removeRequested.connect(self._remove)
        chip.confirmRequested.connect(self._on_confirmed)
        self.strip.add_chip(chip)
        return chip_id

    @Slot(QImage)
    def add_image(self, image: QImage) -> None:
        """A pasted picture: saved as PNG in a scratch folder, then attached like a file."""
        if image.isNull():
            return
        path = self.scratch_path("pasted", "png")
        if not image.save(str(path), "PNG"):
            self._show_reason(f"Could not save the pasted picture to {path.parent}.")
            return
        self.add_files([path])

    def scratch_path(self, stem: str, suffix: str) -> Path:
        """A new file name in this session's scratch folder (pasted pictures, captures)."""
        return self._scratch.new_path(stem, suffix)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if local_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        self.edit.insertFromMimeData(event.mimeData())
        event.acceptProposedAction()

    # ------------------------------------------------------------------ capture
    @Slot("QAction*")
    def _on_capture_chosen(self, action: Any) -> None:
        self.open_capture(action.data())

    def open_capture(self, kind: str) -> QWidget | None:
        """Open a capture dialog (QtMultimedia is imported only now); what it captures becomes an attachment."""
        if kind == "screen":
            self.capture_screen()
            return None
        from .capture import open_capture  # lazy: QtMultimedia stays off the start-up path

        if self._capture_dialog is not None:
            self._capture_dialog.close()
        self._capture_dialog = open_capture(kind, self, self.scratch_path)
        if self._capture_dialog is not None:
            self._capture_dialog.captured.connect(self._on_captured)
        return self._capture_dialog

    def capture_screen(self) -> None:
        from .capture.screen import ScreenCaptureError, capture_whole_screen

        try:
            self.add_files([capture_whole_screen(self.scratch_path, self.screen())])
        except ScreenCaptureError as exc:
            self._capture_note = str(exc)
            self._refresh()

    @Slot(str)
    def _on_captured(self, path: str) -> None:
        self.add_files([Path(path)])

    # ------------------------------------------------------------------ worker results
    @Slot(int, object)
    def _on_estimated(self, chip_id: int, cost: Any) -> None:
        draft = self._drafts.get(chip_id)
        if draft is not None and draft.preparing:
            draft.header_cost = cost
            self.strip.chips[chip_id].show_header_cost(cost)
            self._refresh()

    @Slot(int, float)
    def _on_progressed(self, chip_id: int, fraction: float) -> None:
        if chip_id in self._drafts and self._drafts[chip_id].preparing:
            self.strip.chips[chip_id].show_progress(fraction)

    @Slot(int)
    def _on_confirmed(self, chip_id: int) -> None:
        """The user wants a long file prepared after all."""
        draft = self._drafts.get(chip_id)
        if draft is None or draft.question is None:
            return
        draft.confirmed, draft.question = True, None
        self.strip.chips[chip_id].show_preparing()
        self._worker.submit(chip_id, draft.path, self._current_config(), confirmed=True)
        self._refresh()

    @Slot(int, object)
    def _on_prepared(self, chip_id: int, result: MediaResult) -> None:
        draft = self._drafts.get(chip_id)
        if draft is None:
            return  # removed while it was being prepared
        if result.needs_confirmation is not None:
            from mimo_desktop.media.costs import rough_prepare_seconds

            draft.question = result.needs_confirmation
            self.strip.chips[chip_id].show_question(draft.question, rough_prepare_seconds(draft.question))
            self._refresh()
            return
        draft.prepared, draft.error = result.prepared, result.error
        if result.prepared is not None:
            draft.kind = result.prepared.kind
        self._results[chip_id] = (result, self._current_config())
        self.strip.chips[chip_id].show_result(result)
        self._refresh()
        self.attachmentsChanged.emit()

    @Slot(int, object, str)
    def _on_config_loaded(self, request_id: int, config: Any, error: str) -> None:
        if request_id != self._config_request:
            return  # a newer model folder was chosen meanwhile
        self._config = config
        self._config_note = f"Costs are estimates: {error}" if error else ""
        for chip_id, draft in self._drafts.items():  # the costs depend on the config: measure again
            draft.reset()
            self.strip.chips[chip_id].show_preparing()
            self._worker.submit(chip_id, draft.path, self._current_config(), confirmed=draft.confirmed)
        self._refresh()

    @Slot(int)
    def _remove(self, chip_id: int) -> None:
        if chip_id in self._drafts:
            self._after_removal(self._drop(chip_id))

    def _drop(self, chip_id: int) -> bool:
        """Take a chip away; True when it held prepared (or half-decoded) media."""
        draft = self._drafts.pop(chip_id)
        self._results.pop(chip_id, None)
        self._worker.cancel(chip_id)
        self.strip.remove_chip(chip_id)
        return draft.prepared is not None or draft.preparing

    def _after_removal(self, freed: bool) -> None:
        if freed:
            self._memory.soon()  # the decoder's freed buffers go back to the system, not only to the heap
        self._refresh()
        self.attachmentsChanged.emit()

    def _current_config(self) -> Any:
        if self._config is None:
            from mimo_desktop.media.config import default_config  # no torch: plain dataclasses

            self._config = default_config()
        return self._config

    # ------------------------------------------------------------------ meter and Send
    def budget(self) -> ContextBudget:
        """This message's tokens (text by the model's tokenizer, or an estimate) against the context."""
        config = self._current_config()
        text = self.edit.toPlainText().strip()
        return ContextBudget(
            text_tokens=config.count_text(text) if text else 0,
            media_tokens=sum(d.tokens for d in self._drafts.values()),
            history_tokens=self._history_tokens,
            limit=self._context_limit,
            estimate=config.estimate or any(d.prepared.estimate for d in self._drafts.values() if d.prepared),
        )

    def block_reason(self) -> str:
        """Why Send is disabled now, in words; "" when the message may be sent."""
        if self._external_reason:
            return self._external_reason
        for draft in self._drafts.values():
            if draft.error is not None:
                return f"{draft.path.name} cannot be sent: {draft.error} Remove it to send."
        asking = [d.path.name for d in self._drafts.values() if d.question is not None]
        if asking:
            return f"{', '.join(asking)}: long; press Prepare to decode it, or remove it."
        preparing = [d.path.name for d in self._drafts.values() if d.preparing]
        if preparing:
            return f"Wait: preparing {', '.join(preparing)}…"
        return self.budget().over_reason()

    def _refresh(self) -> None:
        budget = self.budget()
        self.meter.setText(budget.meter_text())
        self.meter.setStyleSheet(f"color: {budget.meter_color()}")
        self.meter.setToolTip(
            "≈: estimated with built-in MiMo-V2.5 defaults; choose a model folder for exact costs" if budget.estimate else ""
        )
        reason = self.block_reason()
        self._show_reason(reason or self._capture_note or self._config_note)
        self.send_button.setEnabled(not reason)

    def _show_reason(self, text: str) -> None:
        self.reason.setText(text)
        self.reason.setVisible(bool(text))

    @Slot()
    def _on_submit(self) -> None:
        """One Send: the text and the prepared items together. Nothing is cleared here: the controller
        calls ``clear_sent`` once the question is saved, so a failure leaves everything in place."""
        text = self.edit.toPlainText().strip()
        if (not text and not self._drafts) or self._busy or self.block_reason():
            return
        self.sendRequested.emit(text, [d for d in self._drafts.values() if d.prepared is not None])

    def clear_sent(self) -> None:
        """The question was saved: empty the text and the chips for the next one."""
        self.edit.clear()
        self.clear_attachments(give_back=False)
