"""The actions of the message under the pointer (or holding the keyboard's place), as icon buttons.

A small bar floats at the top right of that message, and stays at the top of the view while a long
answer's top is scrolled away, so copy, edit, regenerate, retry and the branch switcher are at hand
without scrolling to the end. Each button has an accessible name; the same actions stay as links
under every message for Tab + Enter and screen readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt, Slot
from PySide6.QtGui import QTextBlock, QTextCursor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from mimo_desktop.core.conversation import MessageState, Role

if TYPE_CHECKING:
    from .view import ChatView

SEARCH_BLOCKS = 4000  # how far up a message's header is looked for


def header_mark(message_id: int) -> str:
    return f"msg-{message_id}"


def message_at(block: QTextBlock) -> int | None:
    """The id of the message ``block`` belongs to: the nearest header mark above it."""
    for _ in range(SEARCH_BLOCKS):
        if not block.isValid():
            return None
        it = block.begin()
        while not it.atEnd():
            for name in it.fragment().charFormat().anchorNames():
                if name.startswith("msg-") and name[4:].isdigit():
                    return int(name[4:])
            it += 1
        block = block.previous()
    return None


class MessageActions(QFrame):
    def __init__(self, view: ChatView) -> None:
        super().__init__(view)  # not the viewport's child: scrolling would move it with the text
        self.setObjectName("messageActions")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._view = view
        self.message_id: int | None = None
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(2, 2, 2, 2)
        self._row.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        self.branch_label = QLabel()
        self.hide()

    def _button(self, key: str, text: str, name: str, path: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setAccessibleName(name)
        button.setToolTip(name)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.clicked.connect(lambda _=False, p=path: self._view.run_action(p))
        self.buttons[key] = button
        self._row.addWidget(button)
        return button

    def forget(self) -> None:
        """The thread was shown anew: the next hover fills the bar afresh (branches may have changed)."""
        self.message_id = None
        self.hide()

    def show_for(self, message_id: int | None) -> None:
        view = self._view
        msg = view.message(message_id) if message_id is not None else None
        if msg is None or message_id == view.streaming_message_id:
            self.hide()
            self.message_id = None
            return
        if message_id != self.message_id:
            self._fill(msg)
        self.message_id = message_id
        self.place()
        self.show()
        self.raise_()

    def _fill(self, msg) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            if item.widget() is not None and item.widget() is not self.branch_label:
                item.widget().deleteLater()
        self.buttons = {}
        mid = msg.id
        self._button("copy", "❐", "Copy message", f"copy/{mid}")
        if msg.role is Role.USER:
            self._button("edit", "✎", "Edit question", f"edit/{mid}")
        elif msg.state in (MessageState.FAILED, MessageState.STOPPED):
            self._button("retry", "↻", "Retry answer", f"retry/{mid}")
        else:
            self._button("regenerate", "↻", "Regenerate answer", f"regenerate/{mid}")
        branch = self._view.branch_of(mid)
        if branch is not None and branch.count > 1:
            self._button("previous", "‹", "Previous version", f"branch/{mid}/-1")
            self.branch_label.setText(f"{branch.index}/{branch.count}")
            self.branch_label.setAccessibleName(f"Version {branch.index} of {branch.count}")
            self._row.addWidget(self.branch_label)
            self._button("next", "›", "Next version", f"branch/{mid}/1")
        self.adjustSize()

    def place(self) -> None:
        view = self._view
        header = self._header_block()
        if header is None:
            self.hide()
            return
        top = view.cursorRect(QTextCursor(header)).top()
        port = view.viewport().geometry()
        x = port.x() + port.width() - self.width() - 14
        self.move(QPoint(max(0, x), port.y() + max(2, top - 2)))

    def _header_block(self) -> QTextBlock | None:
        if self.message_id is None:
            return None
        doc, label = self._view.document(), self._view.role_label(self.message_id)
        cursor = doc.find(label)
        while not cursor.isNull():
            first = QTextCursor(doc)
            first.setPosition(cursor.selectionStart() + 1)  # Qt keeps the anchor name on the first character
            if header_mark(self.message_id) in first.charFormat().anchorNames():
                return cursor.block()
            cursor = doc.find(label, cursor)
        return None

    @Slot()
    def follow_scroll(self) -> None:
        if self.isVisible():
            self.place()

    def is_over(self, widget: QWidget | None) -> bool:
        return widget is not None and (widget is self or self.isAncestorOf(widget))
