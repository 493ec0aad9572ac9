"""The photo dialog's capture → retake → use flow, driven through QImageCapture's own signal."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from mimo_desktop.ui.composer.capture.photo import PhotoDialog


def shot(color: QColor) -> QImage:
    image = QImage(640, 360, QImage.Format.Format_RGB32)
    image.fill(color)
    return image


def test_retake_then_use_attaches_the_second_photo(qtbot, scratch, composer):
    dialog = PhotoDialog(scratch, composer)
    qtbot.addWidget(dialog)
    dialog.captured.connect(composer._on_captured)
    dialog.show()
    assert dialog.pages.currentWidget() is dialog.preview and not dialog.use_button.isVisible()
    dialog.image_capture.imageCaptured.emit(1, shot(QColor(255, 0, 0)))  # what the camera would deliver
    assert dialog.pages.currentWidget() is dialog.still
    assert dialog.use_button.isVisible() and dialog.retake_button.isVisible() and not dialog.capture_button.isVisible()
    qtbot.mouseClick(dialog.retake_button, Qt.MouseButton.LeftButton)
    assert dialog.photo is None and dialog.pages.currentWidget() is dialog.preview
    assert dialog.capture_button.isVisible() and not dialog.capture_button.isEnabled()  # still no camera here
    dialog.image_capture.imageCaptured.emit(2, shot(QColor(0, 0, 255)))
    with qtbot.waitSignal(dialog.captured) as got:
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    with Image.open(got.args[0]) as photo:
        assert photo.format == "JPEG" and photo.size == (640, 360)
        r, g, b = photo.convert("RGB").getpixel((320, 180))
        assert b > 240 and r < 15 and g < 15
    qtbot.waitUntil(lambda: composer.attachments() and not composer.attachments()[0].preparing, timeout=30_000)
    assert composer.attachments()[0].kind == "image"
