"""The composer inside the real main window: drops land, Ctrl+O works from anywhere in the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from .helpers import drop, wait_prepared


def test_drop_into_the_window_composer_and_attach_from_the_conversation_list(qtbot, window, media, monkeypatch):
    composer = window.composer
    assert drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    assert composer.strip.isVisible() and "attachments 302" in composer.meter.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a: ([str(media / "tone.wav")], "")))
    window.conversations.search.setFocus()
    qtbot.keyClick(window.conversations.search, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    wait_prepared(qtbot, composer, 2)
    assert [d.kind for d in composer.attachments()] == ["image", "audio"]
    composer.shutdown()
