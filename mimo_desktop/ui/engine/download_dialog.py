"""The "Download a model" dialog: repository, revision, destination, token; disk check before starting;
per-file and total progress with speed and time left; Cancel (resumable), Resume, and "Use this model".

Imported only when the user opens it. The download runs in a DownloadJob; its reports arrive through
queued signals, and repaints are coalesced to at most ~10 a second however fast progress comes.
"""

from __future__ import annotations

import time

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QApplication, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar,
    QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from mimo_desktop.models import DownloadProgress
from mimo_desktop.models.units import format_bytes, format_duration, format_rate

from .download_job import DownloadJob, DownloadRequest, JobOutcome, JobRelay, PlanFacts

DEFAULT_REPO = "XiaomiMiMo/MiMo-V2.5"  # the checkpoint docs/models.md and the first-run panel name
REPAINT_INTERVAL_MS = 100  # at most ~10 repaints a second, however often progress arrives
ERROR_COLOR = "color: #b3261e"
_TERMINAL = ("done", "cancelled", "failed")


STALL_NOTICE_S = 3.0  # no bytes for this long: say so instead of a stale speed and time left


class DownloadDialog(QDialog):
    modelChosen = Signal(str)  # "Use this model": the folder that now holds a complete download

    def __init__(self, parent: QWidget | None = None, *, folder: str = "",
                 free_space: Callable[[Path], int] | None = None, max_workers: int = 4) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.setWindowTitle("Download a model")
        self._free_space = free_space  # tests pass a smaller disk; None: the real free space
        self._max_workers = max_workers
        self._job: DownloadJob | None = None
        self._latest: DownloadProgress | None = None
        self._file_items: dict[str, QTreeWidgetItem] = {}
        self._sizes: dict[str, int] = {}
        self._shown_active: set[str] = set()  # files drawn as in progress by the last repaint
        self._files_done_shown = -1
        self._last_bytes, self._last_moved = -1, time.monotonic()
        self._target = Path()
        self.repaints = 0  # how many times progress was drawn (the tests check the coalescing)
        self._relay = JobRelay(self)
        queued = Qt.ConnectionType.QueuedConnection
        self._relay.planned.connect(self._on_planned, queued)
        self._relay.progressed.connect(self._on_progress, queued)
        self._relay.finished.connect(self._on_finished, queued)
        self._repaint_timer = QTimer(self, singleShot=True, interval=REPAINT_INTERVAL_MS)
        self._repaint_timer.timeout.connect(self._repaint)
        self._build(folder)
        self.finished.connect(self._on_closed)
        app = QApplication.instance()
        if app is not None:  # quitting with the dialog open must not leave a download thread holding the exit
            app.aboutToQuit.connect(self._on_closed)
        self.resize(640, 560)

    # ------------------------------------------------------------------ layout
    def _build(self, folder: str) -> None:
        self.repo = QLineEdit(DEFAULT_REPO, objectName="downloadRepo")
        self.repo.setAccessibleName("Repository")
        self.revision = QLineEdit("main", objectName="downloadRevision")
        self.revision.setAccessibleName("Revision (branch, tag or commit)")
        self.folder = QLineEdit(folder or str(Path.home() / "models" / DEFAULT_REPO.split("/")[1]),
                                objectName="downloadFolder")
        self.folder.setAccessibleName("Destination folder")
        browse = QPushButton("Browse…", objectName="downloadBrowse")
        browse.setAccessibleName("Choose the destination folder")
        browse.clicked.connect(self._on_browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.token = QLineEdit(objectName="hubToken", echoMode=QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("Hugging Face token")
        self.token.setPlaceholderText("only for gated repositories; saved in the system keyring")
        self.token_state = QLabel(objectName="hubTokenState", wordWrap=True)
        self.forget_token = QPushButton("Forget token", objectName="forgetHubToken")
        self.forget_token.setAccessibleName("Remove the saved Hugging Face token from the keyring")
        self.forget_token.clicked.connect(self._on_forget_token)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token_state, 1)
        token_row.addWidget(self.forget_token)
        form = QFormLayout()
        form.addRow("Repository", self.repo)
        form.addRow("Revision", self.revision)
        form.addRow("Save into", folder_row)
        form.addRow("Hub token", self.token)
        form.addRow("", token_row)

        self.disk = QLabel(objectName="downloadDisk", wordWrap=True)
        self.files = QTreeWidget(objectName="downloadFiles")
        self.files.setAccessibleName("Files")
        self.files.setHeaderLabels(["File", "Size", "Progress"])
        self.files.setRootIsDecorated(False)
        self.files.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.total = QProgressBar(objectName="downloadTotal", minimum=0, maximum=1000, textVisible=True)
        self.total.setAccessibleName("Total progress")
        self.speed = QLabel(objectName="downloadSpeed")
        self.status = QLabel(objectName="downloadStatus", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.check_button = QPushButton("Check size", objectName="downloadCheck")
        self.check_button.setAccessibleName("Check the size and the free disk space")
        self.start_button = QPushButton("Download", objectName="downloadStart")
        self.start_button.setAccessibleName("Start or resume the download")
        self.cancel_button = QPushButton("Cancel download", objectName="downloadCancel", enabled=False)
        self.cancel_button.setAccessibleName("Cancel the download (it can be resumed)")
        self.use_button = QPushButton("Use this model", objectName="downloadUse", visible=False)
        self.use_button.setAccessibleName("Use the downloaded model")
        self.close_button = QPushButton("Close", objectName="downloadClose")
        self.close_button.setAccessibleName("Close")
        self.check_button.clicked.connect(self._on_check)
        self.start_button.clicked.connect(self._on_start)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.use_button.clicked.connect(self._on_use)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.check_button, self.start_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.disk)
        layout.addWidget(self.files, 1)
        layout.addWidget(self.total)
        layout.addWidget(self.speed)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._show_token_state()

    def _show_token_state(self) -> None:
        from mimo_desktop.models.hub_token import read_hub_token

        saved = read_hub_token() is not None
        self.token_state.setStyleSheet("")
        self.forget_token.setVisible(saved)
        self.token_state.setText("A token is saved in the system keyring; it is used for every download."
                                 if saved else "No token saved: public repositories need none.")

    # ----------------------------------------------------------------- actions
    @property
    def running(self) -> bool:
        return self._job is not None

    @Slot()
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model into", self.folder.text())
        if folder:
            self.folder.setText(folder)

    @Slot()
    def _on_check(self) -> None:
        self._launch(start=False)

    @Slot()
    def _on_start(self) -> None:
        self._launch(start=True)

    def _launch(self, *, start: bool) -> None:
        repo, folder = self.repo.text().strip(), self.folder.text().strip()
        if not repo or "/" not in repo:
            return self._fail("Enter a repository id such as XiaomiMiMo/MiMo-V2.5.")
        if not folder:
            return self._fail("Choose the folder to save the model into.")
        token = self._typed_token()
        self._latest = None
        self.use_button.hide()
        self._set_status("Asking the Hub for the file list…", "")
        request = DownloadRequest(repo, self.revision.text().strip(), Path(folder).expanduser(), token or None, start)
        self._target = request.folder
        self._job = DownloadJob(request, self._relay, free_space=self._free_space, max_workers=self._max_workers)
        self._set_running(True)
        self._job.start()

    def _typed_token(self) -> str | None:
        """A typed token is saved in the keyring and used for this download (even if the keyring refused it)."""
        typed = self.token.text().strip()
        if not typed:
            return None
        from mimo_desktop.models.hub_token import TokenStoreError, save_hub_token

        try:
            save_hub_token(typed)
        except TokenStoreError as exc:
            self.token_state.setText(f"{exc} The token is used for this download only.")
            self.token_state.setStyleSheet(ERROR_COLOR)
            return typed
        self.token.clear()  # never left on screen: it is in the keyring now
        self._show_token_state()
        return typed

    @Slot()
    def _on_forget_token(self) -> None:
        from mimo_desktop.models.hub_token import TokenStoreError, delete_hub_token

        try:
            delete_hub_token()
        except TokenStoreError as exc:
            self.token_state.setText(str(exc))
            self.token_state.setStyleSheet(ERROR_COLOR)
            return
        self._show_token_state()

    @Slot()
    def _on_cancel(self) -> None:
        if self._job is not None:
            self._set_status("Cancelling…", "")
            self._job.cancel()

    @Slot()
    def _on_use(self) -> None:
        self.accept()
        self.modelChosen.emit(str(self._target))

    # ------------------------------------------------------ reports of the job
    @Slot(object)
    def _on_planned(self, facts: PlanFacts) -> None:
        self.files.clear()
        self._file_items = {}
        self._sizes = {path: size for path, size, _ in facts.files}
        self._shown_active = set()
        self._files_done_shown = -1
        self._last_bytes, self._last_moved = -1, time.monotonic()
        for path, size, present in facts.files:
            item = QTreeWidgetItem([path, format_bytes(size), _file_state(present, size)])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            self._file_items[path] = item
            self.files.addTopLevelItem(item)
        self._show_fraction(facts.total_bytes - facts.to_fetch, facts.total_bytes)
        here = facts.total_bytes - facts.to_fetch
        text = (f"{len(facts.files)} files, {format_bytes(facts.total_bytes)}; "
                f"{format_bytes(facts.to_fetch)} to fetch" + (f" ({format_bytes(here)} already here)" if here else "")
                + f". Free on that disk: {format_bytes(facts.free_bytes)}.")
        too_small = facts.free_bytes < facts.needed_bytes
        self.disk.setText(text + (" Not enough space." if too_small else ""))
        self.disk.setStyleSheet(ERROR_COLOR if too_small else "")

    @Slot(object)
    def _on_progress(self, progress: DownloadProgress) -> None:
        self._latest = progress
        if progress.state in _TERMINAL:
            self._repaint_timer.stop()
            self._repaint()
        elif not self._repaint_timer.isActive():
            self._repaint_timer.start()  # draws the newest value in ≤ 100 ms; what arrives meanwhile coalesces

    @Slot()
    def _repaint(self) -> None:
        progress = self._latest
        if progress is None:
            return
        self.repaints += 1
        self._show_fraction(progress.done_bytes, progress.total_bytes)
        active = {f.path: f for f in progress.active}
        for path, file in active.items():
            if path in self._file_items:
                self._file_items[path].setText(2, _file_state(file.done, file.total, active=True))
        for path in self._shown_active - active.keys():  # finished, or stopped by a cancel or a failure
            self._file_items[path].setText(2, "done" if self._complete_on_disk(path) else
                                           self._file_items[path].text(2) + ", stopped")
        self._shown_active = set(active) & self._file_items.keys()
        if progress.files_done != self._files_done_shown:
            # Small files can start and finish between two repaints without ever being drawn as active.
            self._files_done_shown = progress.files_done
            for path, item in self._file_items.items():
                if path not in active and item.text(2) != "done" and self._complete_on_disk(path):
                    item.setText(2, "done")
        summary = (f"{format_bytes(progress.done_bytes)} of {format_bytes(progress.total_bytes)} · "
                   f"files {progress.files_done}/{progress.files_total}")
        if progress.state == "downloading":
            silent = self._silent_for(progress.done_bytes)
            if silent >= STALL_NOTICE_S:
                summary += f" · no data for {silent:.0f} s, waiting for the Hub"
            else:
                eta = progress.eta_seconds
                summary += " · " + (format_rate(progress.bytes_per_second) if progress.bytes_per_second > 0
                                    else "measuring speed")
                summary += f", {format_duration(eta)} left" if eta is not None else ""
            if not self.status.text().startswith("Cancelling"):
                self._set_status("Downloading…", "")
        self.speed.setText(summary)

    def _silent_for(self, done_bytes: int) -> float:
        """Seconds since the byte count last moved (the downloader reports every second even in a stall)."""
        now = time.monotonic()
        if done_bytes != self._last_bytes:
            self._last_bytes, self._last_moved = done_bytes, now
        return now - self._last_moved

    @Slot(object)
    def _on_finished(self, outcome: JobOutcome) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.join()  # the thread has sent its last word: it ends now
        self._repaint_timer.stop()
        self._repaint()
        self._set_running(False)
        if outcome.state == "done":
            self._show_fraction(1, 1)
            self.start_button.setText("Download")
            self._set_status(outcome.message + " Press “Use this model” to chat with it.", "")
            self.use_button.show()
        elif outcome.state == "planned":
            self._set_status("Ready to download. Press Download to start.", "")
        elif outcome.state == "cancelled":
            self.start_button.setText("Resume")
            self._set_status("Cancelled. The files fetched so far are kept: press Resume to continue where it "
                             "stopped.", "")
        else:
            if self._latest is not None and self._latest.done_bytes:
                self.start_button.setText("Resume")
            self._fail(outcome.message)

    # ----------------------------------------------------------------- helpers
    def _complete_on_disk(self, path: str) -> bool:
        # The downloader moves a file into place only after its hash matched.
        final = self._target / path
        return final.is_file() and final.stat().st_size == self._sizes.get(path, -1)

    def _fail(self, message: str) -> None:
        # models/ tells CLI users how to save a token; here the field is right above.
        message = message.replace("(mimo-desktop model token set)", "in the Hub token field above")
        self._set_status(message, ERROR_COLOR)

    def _set_status(self, text: str, style: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)

    def _set_running(self, running: bool) -> None:
        for widget in (self.repo, self.revision, self.folder, self.token, self.check_button, self.start_button):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _show_fraction(self, done: int, total: int) -> None:
        self.total.setValue(int(1000 * done / total) if total else 1000)
        self.total.setFormat(f"{done / total:.1%}" if total else "100%")

    @Slot()
    def _on_closed(self) -> None:
        """Closing the dialog cancels a running download (resumable) and waits for its threads."""
        job, self._job = self._job, None
        if job is not None:
            job.cancel()
            job.join(timeout=30)


def _file_state(done: int, total: int, *, active: bool = False) -> str:
    if total and done >= total:
        return "done"
    if done <= 0 and not active:
        return "waiting"
    return f"{done / total:.0%} ({format_bytes(done)})"
