"""Driving the window like a person: type and send, click a link in the chat view."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor


def send(qtbot, window, text: str) -> None:
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def wait_idle(qtbot, window, timeout: int = 10000) -> None:
    qtbot.waitUntil(lambda: not window.controller.streamer.busy and window.chat.streaming_message_id is None,
                    timeout=timeout)


def links(chat) -> list[str]:
    found = []
    block = chat.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            href = it.fragment().charFormat().anchorHref()
            if href:
                found.append(href)
            it += 1
        block = block.next()
    return found


def click_link(qtbot, chat, href: str) -> None:
    """Scroll the link into view and click its middle with the mouse."""
    block = chat.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.charFormat().anchorHref() == href:
                cursor = QTextCursor(chat.document())
                cursor.setPosition(frag.position() + frag.length() // 2)
                chat.setTextCursor(cursor)
                chat.ensureCursorVisible()
                rect = chat.cursorRect(cursor)
                point = QPoint(rect.center().x(), rect.center().y())
                if frag.length() == 1:  # an image (or one character): between its two edges
                    after = QTextCursor(chat.document())
                    after.setPosition(frag.position() + 1)
                    point.setX((rect.x() + chat.cursorRect(after).x()) // 2)
                qtbot.mouseClick(chat.viewport(), Qt.MouseButton.LeftButton, pos=point)
                return
            it += 1
        block = block.next()
    raise AssertionError(f"no link {href!r} in the chat view; links: {links(chat)}")
