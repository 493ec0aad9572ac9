"""Attachments waiting in the composer, and the chips that show them.

A chip shows what the model will see and what it costs: a thumbnail (image),
a poster frame and duration (video) or a waveform and duration (audio), the
token cost ("≈" when computed with built-in defaults rather than a model's
config), a busy state while the file is prepared, the reason when it cannot be
used, and a remove button.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QCursor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.core.budget import format_cost, format_duration, format_seconds, item_tokens

from .media_worker import THUMBNAIL_SIDE, MediaResult

# For the file dialog's filter and a first guess at the kind; the media layer decides by content.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image": ("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"),
    "video": ("mp4", "mov", "mkv", "webm", "avi", "m4v"),
    "audio": ("wav", "mp3", "flac", "ogg", "opus", "m4a", "aac", "weba"),
}


def file_dialog_filter() -> str:
    def globs(exts: tuple[str, ...]) -> str:
        return " ".join(f"*.{e}" for e in exts)

    everything = globs(tuple(e for exts in EXTENSIONS.values() for e in exts))
    parts = [f"Images, videos and audio ({everything})"]
    parts += [f"{kind.capitalize()}s ({globs(exts)})" for kind, exts in EXTENSIONS.items()]
    return ";;".join([*parts, "All files (*)"])


def guess_kind(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    return next((kind for kind, exts in EXTENSIONS.items() if ext in exts), "file")


@dataclass
class DraftAttachment:
    """A file in the composer: ``prepared`` once the media layer has measured it, or ``error``."""

    path: Path
    kind: str
    prepared: Any = None  # PreparedMedia | None
    error: str | None = None
    header_cost: Any = None  # MediaCost read from the header while ``prepared`` is pending
    question: Any = None  # MediaCost of a long file waiting for the user's go-ahead
    confirmed: bool = False  # the user said: prepare it, however long

    def reset(self) -> None:
        self.prepared = self.error = self.header_cost = self.question = None

    @property
    def preparing(self) -> bool:
        return self.prepared is None and self.error is None and self.question is None

    @property
    def tokens(self) -> int:
        known = self.prepared if self.prepared is not None else (self.header_cost or self.question)
        return item_tokens(known) if known is not None else 0


def pil_to_pixmap(image: Any) -> QPixmap:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy())  # copy: ``data`` dies with this frame


def waveform_pixmap(peaks: tuple[float, ...], size: QSize, color: QColor) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.transparent)
    if not peaks:
        return pixmap
    painter = QPainter(pixmap)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    step = size.width() / len(peaks)
    middle = size.height() / 2
    for i, peak in enumerate(peaks):
        half = max(1.0, min(1.0, peak) * middle)
        painter.drawRect(int(i * step), int(middle - half), max(1, int(step) - 1), int(2 * half))
    painter.end()
    return pixmap


CHIP_NAME_WIDTH = 96  # pixels beside the remove button in a chip of THUMBNAIL_SIDE + 120


def elide_middle(name: str, metrics: Any, width: int) -> str:
    """``a-very-long-na…me.mp4``: the start and the extension stay readable (full path in the tooltip)."""
    return metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, width)


class AttachmentChip(QFrame):
    removeRequested = Signal(int)
    confirmRequested = Signal(int)  # "prepare it anyway" for a long file
    previewRequested = Signal(object, str)  # file, kind: by default shown in the chat's viewers

    def __init__(self, chip_id: int, draft: DraftAttachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chip_id = chip_id
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(THUMBNAIL_SIDE + 120)
        self.preview = QLabel()
        self.preview.setObjectName("chipPreview")
        self.preview.setFixedSize(THUMBNAIL_SIDE, THUMBNAIL_SIDE * 3 // 4)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setText(draft.kind)
        self.name = QLabel(elide_middle(draft.path.name, self.fontMetrics(), CHIP_NAME_WIDTH))
        self.name.setObjectName("chipName")
        self.name.setToolTip(str(draft.path))
        self.detail = QLabel("Preparing…")
        self.detail.setObjectName("chipDetail")
        self.detail.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setObjectName("chipBusy")
        self.busy.setRange(0, 0)  # indeterminate until the first progress report
        self.busy.setMaximumHeight(6)
        self.busy.setTextVisible(False)
        self.confirm = QToolButton()
        self.confirm.setObjectName("chipConfirm")
        self.confirm.setText("Prepare")
        self.confirm.setAccessibleName(f"Prepare {draft.path.name}")
        self.confirm.hide()
        self.confirm.clicked.connect(self._on_confirm)
        self._started: float | None = None
        self.remove = QToolButton()
        self.remove.setObjectName("chipRemove")
        self.remove.setText("✕")
        self.remove.setAccessibleName(f"Remove {draft.path.name}")
        self.remove.setToolTip(f"Remove {draft.path.name}")
        self.remove.clicked.connect(self._on_remove)
        self._file = (draft.path, draft.kind)
        self.show_button = QToolButton()  # also: double-click the chip
        self.show_button.setObjectName("chipPreviewButton")
        self.show_button.setText("⤢")
        self.show_button.setAccessibleName(f"Preview {draft.path.name}")
        self.show_button.setToolTip(f"Preview {draft.path.name}")
        self.show_button.clicked.connect(self._on_preview)
        self.previewRequested.connect(self._open_viewer)

        head = QHBoxLayout()
        head.addWidget(self.name, 1)
        head.addWidget(self.show_button)
        head.addWidget(self.remove)
        text = QVBoxLayout()
        text.addLayout(head)
        text.addWidget(self.detail)
        text.addWidget(self.busy)
        text.addWidget(self.confirm)
        text.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.preview)
        row.addLayout(text, 1)
        self.setAccessibleName(f"Attachment {draft.path.name}")

    @Slot()
    def _on_remove(self) -> None:
        self.removeRequested.emit(self.chip_id)

    @Slot()
    def _on_confirm(self) -> None:
        self.confirmRequested.emit(self.chip_id)
    def _on_preview(self) -> None:
        self.previewRequested.emit(*self._file)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self._on_preview()

    @Slot(object, str)
    def _open_viewer(self, path: Path, kind: str) -> None:
        from ..chat.media_viewer import open_media  # it imports this module

        open_media(self, Path(path), kind, Path(path).name)

    def show_preparing(self) -> None:
        self.confirm.hide()
        self.busy.setRange(0, 0)
        self.busy.show()
        self.detail.setText("Preparing…")
        self.detail.setStyleSheet("")
        self._started = None

    def show_question(self, cost: Any, seconds: float) -> None:
        """A long file, priced from its header: nothing is decoded until the user presses Prepare."""
        self.busy.hide()
        facts = [format_cost(item_tokens(cost), True), f"about {format_seconds(seconds)} to prepare"]
        if cost.duration_s is not None:
            facts.insert(0, format_duration(cost.duration_s))
        self.detail.setText(" · ".join(facts))
        self.confirm.show()

    def show_progress(self, fraction: float) -> None:
        """Percentage and time left, the time from the pace so far."""
        import time

        now = time.monotonic()
        if self._started is None:
            self._started = now - 1e-3
        self.busy.setRange(0, 100)
        self.busy.setValue(round(100 * fraction))
        text = f"Preparing… {100 * fraction:.0f}%"
        if 0.02 < fraction < 1.0:
            left = (now - self._started) * (1 - fraction) / fraction
            text += f" · {format_seconds(left)} left"
        self.detail.setText(text)

    def show_header_cost(self, cost: Any) -> None:
        facts = [format_cost(item_tokens(cost), True), "preparing…"]
        if cost.duration_s is not None:
            facts.insert(0, format_duration(cost.duration_s))
        self.detail.setText(" · ".join(facts))

    def show_result(self, result: MediaResult) -> None:
        self.busy.hide()
        self.confirm.hide()
        if result.error is not None:
            self.detail.setText(result.error)
            self.detail.setStyleSheet("color: #c0392b")
            self.setToolTip(result.error)
            self.preview.setText("⚠")
            return
        item = result.prepared
        facts = [format_cost(item_tokens(item), item.estimate)]
        duration = result.duration_s if result.duration_s is not None else item.duration_s
        if getattr(item, "audio_track", None) is not None:
            facts.insert(0, "with sound")  # its cost is in the figure: say why a clip costs more
        if duration is not None:
            facts.insert(0, format_duration(duration))
        self.detail.setText(" · ".join(facts))
        self.detail.setStyleSheet("")
        self.setToolTip(self._tooltip(item))
        if result.thumbnail is not None:
            self.preview.setPixmap(
                pil_to_pixmap(result.thumbnail).scaled(
                    self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        elif result.peaks is not None:
            self.preview.setPixmap(waveform_pixmap(result.peaks, self.preview.size(), self.palette().highlight().color()))

    @staticmethod
    def _tooltip(item: Any) -> str:
        lines = [f"{item.kind}: {format_cost(item_tokens(item), item.estimate)}"]
        track = getattr(item, "audio_track", None)
        if track is not None:
            lines.append(f"its sound: {format_cost(track.tokens, item.estimate)}")
        if item.resized:
            lines.append(f"resized to {item.resized[1]}×{item.resized[0]}")
        if item.timestamps:
            lines.append(f"{len(item.timestamps)} frames sampled")
        if item.estimate:
            lines.append("estimated with built-in MiMo-V2.5 defaults (no model folder configured)")
        return "\n".join(lines)


class AttachmentStrip(QScrollArea):
    """A horizontal row of chips above the input; hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentStrip")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(THUMBNAIL_SIDE * 3 // 4 + 30)
        inner = QWidget()
        self._row = QHBoxLayout(inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.setWidget(inner)
        self.chips: dict[int, AttachmentChip] = {}
        self._slots: list[QWidget] = []  # where removed chips were, kept while the pointer stays
        self.hide()

    def add_chip(self, chip: AttachmentChip) -> None:
        self._close_slots()
        self.chips[chip.chip_id] = chip
        self._row.insertWidget(self._row.count() - 1, chip)
        self.show()

    def remove_chip(self, chip_id: int) -> None:
        """The chip goes, but an empty slot of its size stays while the pointer is over the strip,
        so the next chip does not slide under it (a second click would remove that one too)."""
        chip = self.chips.pop(chip_id, None)
        if chip is not None:
            index = self._row.indexOf(chip)
            self._row.removeWidget(chip)
            chip.deleteLater()
            if self.chips and self._pointer_inside():
                slot = QWidget()
                slot.setObjectName("chipSlot")
                slot.setFixedSize(chip.size())
                self._row.insertWidget(index, slot)
                self._slots.append(slot)
        if not self.chips:
            self._close_slots()
        self.setVisible(bool(self.chips))

    def _pointer_inside(self) -> bool:
        return self.underMouse() or self.rect().contains(self.mapFromGlobal(QCursor.pos()))

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self._close_slots()
        super().leaveEvent(event)

    def _close_slots(self) -> None:
        for slot in self._slots:
            self._row.removeWidget(slot)
            slot.deleteLater()
        self._slots.clear()


class ScratchFolder:
    """A temporary folder for pasted pictures and captures, removed at shutdown."""

    def __init__(self) -> None:
        self._folder: Path | None = None

    def new_path(self, stem: str, suffix: str) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="mimo-desktop-"))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        n = 1
        while (path := self._folder / f"{stem}-{stamp}-{n}.{suffix}").exists():
            n += 1
        return path

    def remove(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
