"""Viewers for an attachment, from the conversation or from a composer chip.

A picture opens fitted to the window; zoom with the buttons, Ctrl+wheel, + and -, 0 fits again.
A clip or a recording plays with sound (QtMultimedia); a recording shows its waveform. Either can
be opened in the system's own app: attachments are stored content-addressed (no file name), so
that gets a copy under the name the user gave it, in a temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage, QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.core.budget import format_duration

from ..composer.attachments import waveform_pixmap
from ..background import Background

_named_copies: tempfile.TemporaryDirectory | None = None


def named_copy(path: Path, name: str) -> Path:
    """``path`` under the name ``name`` (a copy, in a folder removed when the app exits)."""
    global _named_copies
    if _named_copies is None:
        _named_copies = tempfile.TemporaryDirectory(prefix="mimo-open-")
    folder = Path(_named_copies.name) / path.name[:16]
    folder.mkdir(exist_ok=True)
    target = folder / (Path(name).name or path.name)
    if not target.exists():
        shutil.copyfile(path, target)
    return target


class _Viewer(QDialog):
    def __init__(self, path: Path, name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.path, self.name = path, name
        self.setWindowTitle(name)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.open_button = QPushButton("Open in system app")
        self.open_button.setToolTip("Open the file with the app your system uses for it")
        self.open_button.clicked.connect(self.open_in_system_app)

    @Slot()
    def open_in_system_app(self) -> bool:
        try:
            target = named_copy(self.path, self.name)
        except OSError as exc:
            self.setWindowTitle(f"{self.name}: could not be opened ({exc.strerror or exc})")
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))


class ImageView(QGraphicsView):
    """Fits the picture until the user zooms; Ctrl+wheel zooms around the pointer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.item = QGraphicsPixmapItem()
        self.item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self.item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.fitting = True

    def set_pixmap(self, pixmap: QPixmap) -> None:
        self.item.setPixmap(pixmap)
        self.scene().setSceneRect(self.item.boundingRect())
        self.fit()

    def fit(self) -> None:
        self.fitting = True
        self.resetTransform()
        self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self.fitting = False
        self.scale(factor, factor)

    @property
    def scale_factor(self) -> float:
        return self.transform().m11()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.fitting:
            self.fit()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 if event.angleDelta().y() > 0 else 0.8)
        else:
            super().wheelEvent(event)


def read_image(path: Path) -> tuple[QImage, str]:
    """Runs on a worker thread (QImage is safe there): the picture upright, or why it cannot be read."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation, as the model sees it
    image = reader.read()
    return image, ("" if not image.isNull() else reader.errorString())


class ImageViewer(_Viewer):
    """Opens at once; the picture (a phone photo takes a tenth of a second or more to decode) is
    decoded on a worker thread and fitted when it arrives."""


    def __init__(self, path: Path, name: str, parent: QWidget | None = None) -> None:
        super().__init__(path, name, parent)
        self.setObjectName("imageViewer")
        self.resize(900, 680)
        self.view = ImageView(self)
        self.view.setAccessibleName(f"Picture {name}")
        self.note = QLabel("Opening the picture…")
        self.size_label = QLabel("")
        buttons = QHBoxLayout()
        for text, tip, slot in (("−", "Zoom out (-)", lambda: self.view.zoom(0.8)),
                                ("+", "Zoom in (+)", lambda: self.view.zoom(1.25)),
                                ("Fit", "Fit the window (0)", self.view.fit)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAccessibleName(tip.split(" (")[0])
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addWidget(self.size_label)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        for key, slot in (("+", lambda: self.view.zoom(1.25)), ("=", lambda: self.view.zoom(1.25)),
                          ("-", lambda: self.view.zoom(0.8)), ("0", self.view.fit)):
            QShortcut(QKeySequence(key), self, activated=slot)
        self.loaded = False
        _reader().run(read_image, path, on_done=self._delivered)

    def _delivered(self, result) -> None:
        """On the GUI thread; the dialog may have been closed and deleted meanwhile."""
        try:
            self._on_read(result)
        except RuntimeError:  # "Internal C++ object already deleted"
            pass

    def _on_read(self, result) -> None:
        image, error = result
        self.loaded = True
        if error:
            self.note.setText(f"{self.name} is missing from the attachments folder." if not self.path.is_file()
                              else f"The picture cannot be shown: {error}")
            return
        self.note.hide()
        self.view.set_pixmap(QPixmap.fromImage(image))
        self.size_label.setText(f"{image.width()} × {image.height()}")


_worker: Background | None = None


def _reader() -> Background:
    global _worker
    if _worker is None:
        _worker = Background(max_workers=1, name="mimo-image-viewer")
    return _worker


def shutdown_viewers() -> None:
    """At exit: the picture reader's thread."""
    global _worker
    worker, _worker = _worker, None
    if worker is not None:
        worker.shutdown(wait=True)


class MediaPlayer(_Viewer):
    """A clip (with its picture) or a recording (with its waveform), played with sound."""

    def __init__(self, path: Path, kind: str, name: str, preview: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(path, name, parent)
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self.setObjectName("mediaPlayer")
        self.kind = kind
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        layout = QVBoxLayout(self)
        if kind == "video":
            from PySide6.QtMultimediaWidgets import QVideoWidget

            self.video = QVideoWidget(self)
            self.video.setMinimumSize(480, 270)
            self.player.setVideoOutput(self.video)
            layout.addWidget(self.video, 1)
            self.resize(860, 560)
        else:
            self.wave = QLabel()
            self.wave.setObjectName("playerWaveform")
            self.wave.setMinimumSize(560, 120)
            peaks = getattr(preview, "peaks", None)
            if peaks is not None:
                self.wave.setPixmap(waveform_pixmap(tuple(float(p) for p in peaks), QSize(560, 120),
                                                    self.palette().highlight().color()))
            layout.addWidget(self.wave, 1)
        self.play_button = QToolButton()
        self.play_button.setAccessibleName("Play")
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.clicked.connect(self.toggle)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setAccessibleName("Position")
        self.position.sliderMoved.connect(self.player.setPosition)
        self.time = QLabel("0:00")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.position, 1)
        row.addWidget(self.time)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.player.durationChanged.connect(self._on_duration)
        self.player.positionChanged.connect(self._on_position)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)
        self.player.setSource(QUrl.fromLocalFile(str(path)))

    @Slot()
    def toggle(self) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    @Slot("qint64")
    def _on_duration(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self.time.setText(f"0:00 / {format_duration(ms / 1000)}")

    @Slot("qint64")
    def _on_position(self, ms: int) -> None:
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.time.setText(f"{format_duration(ms / 1000)} / {format_duration(self.player.duration() / 1000)}")

    @Slot(object)
    def _on_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        playing = state == QMediaPlayer.PlaybackState.PlayingState
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setAccessibleName("Pause" if playing else "Play")

    @Slot(object, str)
    def _on_error(self, _error, text: str) -> None:
        self.error.setText(f"It cannot be played here: {text}" if text else "")

    def done(self, result: int) -> None:
        self.player.stop()
        super().done(result)


def open_media(parent: QWidget, path: Path, kind: str, name: str, preview: Any = None) -> _Viewer:
    """The viewer that suits ``kind``, shown (not modal: the chat stays usable beside it)."""
    if kind == "image" or not path.is_file():
        viewer = ImageViewer(path, name, parent)
    else:
        viewer = MediaPlayer(path, kind, name, preview, parent)
    viewer.show()
    return viewer
