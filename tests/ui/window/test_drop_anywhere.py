"""Files dropped anywhere on the window attach to the message, with a visible drop target while dragging.

The drags are delivered to the window's native QWindow, as the platform delivers them: Qt then finds the widget
under the pointer, exactly as for a drag from a file manager.
"""

import warnings

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication


def file_mime(*paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def at(window, widget):
    return QPointF(widget.mapTo(window, widget.rect().center()))


def drag(window, mime, where, *, release=True):
    """Enter, move and (optionally) release a drag at ``where`` (window coordinates); True if accepted."""
    native = window.windowHandle()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # PySide6 marks these (the only) constructors deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, buttons, mods)
        QApplication.sendEvent(native, enter)
        move = QDragMoveEvent(where.toPoint(), Qt.DropAction.CopyAction, mime, buttons, mods)
        QApplication.sendEvent(native, move)
    if not release:
        return move.isAccepted()
    drop = QDropEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(native, drop)
    return drop.isAccepted()


def photos(tmp_path, n):
    out = []
    for i in range(n):
        out.append(tmp_path / f"photo{i}.png")
        Image.new("RGB", (64, 48), (60 * i, 120, 200)).save(out[-1])
    return out


def test_files_dropped_on_the_chat_view_or_the_sidebar_are_attached(qtbot, window, tmp_path):
    first, second, third = photos(tmp_path, 3)
    assert drag(window, file_mime(first, second), at(window, window.chat))
    assert [d.path for d in window.composer.attachments()] == [first, second]
    assert not window.drop_overlay.isVisible()
    assert drag(window, file_mime(third), at(window, window.conversations.search))  # not typed into the search
    assert window.conversations.search.text() == ""
    assert [d.path.name for d in window.composer.attachments()] == ["photo0.png", "photo1.png", "photo2.png"]
    assert window.composer.edit.hasFocus()


def test_the_drop_target_shows_while_dragging_and_goes_when_the_drag_leaves(qtbot, window, tmp_path):
    [photo] = photos(tmp_path, 1)
    before = window.grab().toImage()
    assert drag(window, file_mime(photo), at(window, window.chat), release=False)
    overlay = window.drop_overlay
    assert overlay.isVisible() and overlay.geometry() == window.rect()
    assert overlay.message() == "Drop to attach this file\nto your message"
    shot = window.grab().toImage()
    accent = window.palette().highlight().color()

    def accent_pixels(image):
        return sum(1 for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
                   if _close(image.pixelColor(x, y), accent))

    assert accent_pixels(shot) > accent_pixels(before) + 100, "no dashed drop frame on screen"
    QApplication.sendEvent(window.windowHandle(), QDragLeaveEvent())
    assert not overlay.isVisible()
    assert window.composer.attachments() == []


def test_a_picture_dragged_from_a_browser_is_attached_and_text_drags_are_left_alone(qtbot, window):
    mime = QMimeData()
    image = QImage(30, 20, QImage.Format.Format_RGB32)
    image.fill(QColor("green"))
    mime.setImageData(image)
    assert drag(window, mime, at(window, window.chat))
    [draft] = window.composer.attachments()
    assert draft.path.suffix == ".png"

    text = QMimeData()
    text.setText("just words")
    drag(window, text, at(window, window.chat), release=False)
    assert not window.drop_overlay.isVisible()


def _close(a, b):
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < 60
