"""Pictures of the media a message carries, for the chat document: thumbnail, poster, waveform.

Each attachment is an ``<img src="mimo-media:<sha256>">`` of a fixed size inside a link
(``mimo:media/<message>/<n>``) that opens it in a viewer. Until its preview is made (media layer,
on one worker thread), the picture is a plain tile with the kind on it; then the tile is replaced
in the document's resources and the view repaints. The size never changes, so nothing moves.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPolygonF, QTextDocument

from mimo_desktop.core.budget import format_duration
from mimo_desktop.core.conversation import Attachment

from ..background import Background

TILE_W, TILE_H = 176, 120
SCHEME = "mimo-media"
KIND_LABEL = {"image": "picture", "video": "clip", "audio": "recording"}


def media_url(sha256: str) -> QUrl:
    return QUrl(f"{SCHEME}:{sha256}")


def make_preview(path: Path) -> Any:
    """Runs on the worker: the media layer's Preview, or the sentence saying why there is none."""
    from mimo_desktop.core.errors import MimoError

    if not path.is_file():
        return "The file is missing."
    try:
        from mimo_desktop.media.preview import preview

        return preview(path, side=max(TILE_W, TILE_H) * 2)
    except MimoError as exc:
        return str(exc)
    except ImportError as exc:
        return f"No preview: the media layer is missing ({exc})."


def _rgb_image(picture) -> QImage:
    height, width = picture.shape[:2]
    data = picture.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def _play_mark(painter: QPainter, centre: QPointF, radius: float) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 150))
    painter.drawEllipse(centre, radius, radius)
    painter.setBrush(QColor(255, 255, 255))
    r = radius * 0.5
    painter.drawPolygon(QPolygonF([QPointF(centre.x() - r * 0.6, centre.y() - r),
                                   QPointF(centre.x() - r * 0.6, centre.y() + r),
                                   QPointF(centre.x() + r, centre.y())]))


def _badge(painter: QPainter, text: str, rect: QRectF) -> None:
    font = QFont(painter.font())
    font.setPointSizeF(8.5)
    font.setBold(True)
    painter.setFont(font)
    width = painter.fontMetrics().horizontalAdvance(text) + 10
    box = QRectF(rect.right() - width - 6, rect.bottom() - 22, width, 16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def tile(kind: str, preview: Any, dark: bool) -> QImage:
    """The picture for one attachment: TILE_W × TILE_H, rounded, the preview fitted inside it."""
    image = QImage(TILE_W, TILE_H, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(0, 0, TILE_W, TILE_H)
    clip = QPainterPath()
    clip.addRoundedRect(rect, 8, 8)
    painter.setClipPath(clip)
    painter.fillRect(rect, QColor(58, 60, 64) if dark else QColor(226, 229, 234))
    muted = QColor(170, 174, 180) if dark else QColor(100, 104, 110)
    picture = getattr(preview, "picture", None)
    peaks = getattr(preview, "peaks", None)
    if picture is not None:
        source = _rgb_image(picture)
        scaled = source.scaled(TILE_W, TILE_H, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                               Qt.TransformationMode.SmoothTransformation)
        painter.drawImage(QPointF((TILE_W - scaled.width()) / 2, (TILE_H - scaled.height()) / 2), scaled)
    elif peaks is not None and len(peaks):
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(110, 170, 255) if dark else QColor(53, 116, 240))
        step = (TILE_W - 16) / len(peaks)
        middle = TILE_H / 2
        for i, peak in enumerate(peaks):
            half = max(1.0, float(min(1.0, peak)) * (middle - 18))
            painter.drawRect(QRectF(8 + i * step, middle - half, max(1.0, step - 0.6), 2 * half))
    else:
        painter.setPen(muted)
        text = preview if isinstance(preview, str) else f"{KIND_LABEL.get(kind, kind)}…"
        painter.drawText(rect.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    if kind in ("video", "audio") and preview is not None and not isinstance(preview, str):
        _play_mark(painter, QPointF(TILE_W / 2, TILE_H / 2), 18)
    duration = getattr(preview, "duration_s", None)
    if duration is not None:
        _badge(painter, format_duration(duration), rect)
    painter.end()
    return image


class ChatMedia(QObject):
    """Makes and keeps the tiles of one chat view's document."""

    tileChanged = Signal(str)  # sha256: its tile is in the document's resources now

    def __init__(self, doc_of, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc_of = doc_of  # () -> the QTextDocument shown now
        self._previews: dict[str, Any] = {}  # sha256 -> Preview | str
        self._asked: set[str] = set()
        self._kinds: dict[str, str] = {}
        self._worker = Background(self, max_workers=1, name="mimo-chat-media")
        self.dark = False
        self.path_of = None  # Attachment -> Path; set by whoever knows where the files are

    def know(self, attachments) -> None:
        for att in attachments:
            self._kinds[att.sha256] = att.kind
            if att.sha256 not in self._asked and self.path_of is not None:
                self._asked.add(att.sha256)
                sha = att.sha256
                self._worker.run(make_preview, Path(self.path_of(att)),
                                 on_done=lambda preview, sha=sha: self._on_made(sha, preview),
                                 on_error=lambda error, sha=sha: self._on_made(sha, f"No preview: {error}"))

    def _on_made(self, sha256: str, preview: Any) -> None:
        self._previews[sha256] = preview
        doc: QTextDocument = self._doc_of()
        doc.addResource(QTextDocument.ResourceType.ImageResource.value, media_url(sha256),
                        tile(self._kinds.get(sha256, "file"), preview, self.dark))
        self.tileChanged.emit(sha256)

    def image(self, sha256: str) -> QImage:
        """The tile as it is now (the placeholder until the preview is made)."""
        return tile(self._kinds.get(sha256, "file"), self._previews.get(sha256), self.dark)

    def preview_of(self, sha256: str) -> Any:
        return self._previews.get(sha256)

    @property
    def pending(self) -> int:
        return len(self._asked) - len(self._previews)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=True)


def attachment_tiles_html(message_id: int, attachments: tuple[Attachment, ...], muted: str) -> str:
    """The tiles in a row, each a link to its viewer, with its name and cost under it."""
    if not attachments:
        return ""
    cells = []
    for i, att in enumerate(attachments):
        cost = f" · {att.tokens:,} tokens" if att.tokens is not None else ""
        cells.append(
            f"<td style='padding: 0 8px 0 0'><a href='mimo:media/{message_id}/{i}'>"
            f"<img src='{SCHEME}:{att.sha256}' width='{TILE_W}' height='{TILE_H}' alt='{html.escape(att.name)}'/>"
            f"</a><br/><span style='color:{muted}; font-size:small'>{html.escape(att.name)}{cost}</span></td>")
    return f"<table cellspacing='0' cellpadding='0' style='margin: 2px 0 4px 0'><tr>{''.join(cells)}</tr></table>"
