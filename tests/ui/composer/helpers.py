"""Real Qt events for the composer tests: drops, pastes, waiting for the media worker."""

from __future__ import annotations

import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def file_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(target: QWidget, *paths: Path) -> bool:
    """Drag files over ``target`` and release them; True when the drop was accepted."""
    mime = file_mime(*paths)
    where = QPointF(target.rect().center())
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # PySide6 marks this (the only) constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def wait_prepared(qtbot, composer, count: int | None = None, timeout: int = 30_000) -> None:
    def done() -> None:
        drafts = composer.attachments()
        assert drafts and (count is None or len(drafts) == count)
        assert not any(d.preparing for d in drafts)

    qtbot.waitUntil(done, timeout=timeout)


def chip(composer, index: int = 0):
    return list(composer.strip.chips.values())[index]
