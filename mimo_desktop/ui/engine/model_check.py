"""The model-folder check shown under the settings' model folder: what the folder holds, what is missing,
what that disables, and whether it fits this machine's GPUs at the chosen tensor-parallel size.

Imported only when the settings dialog is opened, never at start-up. The check (and the GPU survey, which
may import torch) runs on a one-thread ``background.Background``; results come back on the GUI thread and
carry the id of the request they answer, so a result for a folder the user has since changed is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from mimo_desktop.models import GpuSurvey
from mimo_desktop.models.settings_check import ESTIMATING, FolderCheck, add_fit, check_folder

from ..background import Background, Task

GpuSurveyFn = Callable[[], GpuSurvey]
REPORT_HEIGHT = 150  # room for the usual seven or eight lines; longer reports scroll


class ModelCheckPanel(QWidget):
    """The "Check" button, the report under it, and the "Download a model…" button."""

    checkChanged = Signal()  # a check finished or was cleared: the dialog re-evaluates Save
    downloadRequested = Signal()

    def __init__(self, gpu_survey: GpuSurveyFn | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelCheckPanel")
        self._survey_fn = gpu_survey or _detect_gpus
        self._survey: GpuSurvey | None = None  # GPUs do not change while the dialog is open: survey once
        self._survey_lock = threading.Lock()
        self._background = Background(self, max_workers=1, name="model-check")
        self._request = 0
        self._pending_folder = ""
        self.result: FolderCheck | None = None

        self.check_button = QPushButton("Check", objectName="checkModelDir")
        self.check_button.setAccessibleName("Check the model folder")
        self.download_button = QPushButton("Download a model…", objectName="downloadModel")
        self.download_button.setAccessibleName("Download a model from the Hugging Face Hub")
        self.download_button.clicked.connect(self.downloadRequested)
        self.report = QLabel(objectName="modelCheckReport", wordWrap=True)
        self.report.setAccessibleName("Model folder check")
        self.report.setTextFormat(Qt.TextFormat.PlainText)
        self.report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # A wrapped label in a form row gets too little height and is cut off; a scroll area gives it room.
        self.report_area = QScrollArea(objectName="modelCheckArea", widgetResizable=True)
        self.report_area.setFrameShape(QFrame.Shape.NoFrame)
        self.report_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.report_area.setMinimumHeight(REPORT_HEIGHT)
        self.report_area.setWidget(self.report)
        self.report_area.viewport().setAutoFillBackground(False)  # reads as part of the form, not a box
        self.report.setAutoFillBackground(False)
        self.report_area.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.report_area)

    @property
    def checking(self) -> bool:
        """A check is running (the folder half may already be shown)."""
        return bool(self._pending_folder)

    @property
    def checked_folder(self) -> str:
        """The folder being checked or last checked; empty when none."""
        return self._pending_folder or (self.result.folder if self.result else "")

    def check(self, folder: str, tp: int | None, context_tokens: int) -> None:
        """Start checking ``folder``; an earlier check still running is superseded."""
        self._request += 1
        folder = folder.strip()
        self.result = None
        if not folder:
            self._pending_folder = ""
            self.report_area.hide()
            self.checkChanged.emit()
            return
        self._pending_folder = folder
        self._show("Checking the model folder…", "")
        request = self._request
        self._background.run(self._work, folder, tp, context_tokens,
                             on_progress=lambda result: self._on_checked(request, result),
                             on_done=lambda result: self._on_checked(request, result))
        self.checkChanged.emit()

    def blocking_reason(self, folder: str) -> str:
        """Why Save must wait for ``folder``: it cannot start (per the finished check of that very folder)."""
        if self.result is None or self.result.folder != folder.strip():
            return ""
        return self.result.blocking_reason()

    @Slot()
    def shutdown(self) -> None:
        """Stop the background work; a check in flight finishes on its own and its result is dropped."""
        self._request += 1
        self._background.shutdown(wait=True)
        self._background = Background(self, max_workers=1, name="model-check")  # the dialog may check again

    def _work(self, folder: str, tp: int | None, context_tokens: int, task: Task) -> FolderCheck:
        try:
            result = check_folder(folder)
            if result.fit == ESTIMATING:
                task.report(result)  # shown while the GPU survey runs
                result = add_fit(result, tp, context_tokens, self._gpus())
        except Exception as exc:  # noqa: BLE001 - an unexpected failure must reach the user, not die in a thread
            result = FolderCheck(folder, None, error=f"Checking {folder} failed: {type(exc).__name__}: {exc}")
        return result

    def _gpus(self) -> GpuSurvey:
        with self._survey_lock:
            if self._survey is None:
                self._survey = self._survey_fn()
            return self._survey

    def _on_checked(self, request: int, result: FolderCheck) -> None:
        if request != self._request:
            return  # the folder or TP changed since: a newer check is on its way
        if result.fit != ESTIMATING:
            self._pending_folder = ""
        self.result = result
        color = "" if result.can_start else "#b3261e"
        self._show("\n".join(result.lines()), color)
        self.checkChanged.emit()

    def _show(self, text: str, color: str) -> None:
        self.report.setText(text)
        self.report.setStyleSheet(f"color: {color}" if color else "")
        self.report_area.show()


def _detect_gpus() -> GpuSurvey:
    from mimo_desktop.models import detect_gpus

    return detect_gpus()
