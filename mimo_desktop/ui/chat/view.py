"""The conversation view: the current thread rendered as Markdown, read-only.

Finished messages are rendered once per thread change; an answer that streams is painted by a
StreamRegion at the end of the same document. Rendered Markdown never loads remote resources;
a web link shows its address on hover and opens in the system browser only after the user agrees;
``mimo:`` links are the message actions the app itself writes (the model's Markdown cannot make one).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QCursor,
    QDesktopServices,
    QGuiApplication,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QTextBrowser, QToolTip, QWidget

from mimo_desktop.core.conversation import Message, MessageState, Role

from .markdown import code_blocks, render_markdown
from .media import SCHEME as MEDIA_SCHEME
from .media import ChatMedia
from .first_paint import newest_parts, show_in_new_document
from .older import SEPARATOR, OlderMessages
from .message_actions import MessageActions, message_at
from .reveal import MessageReveal
from .message_html import ROLE_LABEL, Branch, attachments_html, footer_html, header_html, message_html
from .stream_render import BlockRenderer, StreamRegion
from .links import confirm_open_link
from .media_viewer import open_media, shutdown_viewers
from .text_viewer import show_text
from .thinking import toggle_thinking_in_place
from .waiting import WaitingLine, waiting_html
from ..window.theme import html_colors

# Actions the controller carries out; copy and thinking are handled here.
CONTROLLER_ACTIONS = ("regenerate", "retry", "edit", "branch")


class ChatView(QTextBrowser):
    actionRequested = Signal(str, int, int)  # action, message id, argument (branch step)
    copied = Signal(str)  # what went to the clipboard, for the status bar
    streamFinished = Signal(int)  # message id: its footer is shown
    linkHovered = Signal(str)  # the address of the web link under the pointer, "" when none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setAccessibleName("Conversation")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.highlighted.connect(self._on_link_hovered)
        self._messages: list[Message] = []
        self._branches: dict[int, Branch] = {}
        self._thinking_open: set[int] = set()
        self._stream: StreamRegion | None = None
        self._want: tuple[str, str] = ("", "")
        self._finish_with: tuple[Message, Branch | None] | None = None
        self._bodies: dict[tuple[int, int, bool], str] = {}  # rendered Markdown of finished messages
        self._renderer = BlockRenderer()
        self._catch_up = QTimer(self, singleShot=True, interval=1)
        self._catch_up.timeout.connect(self._paint_now)
        self._dark = False
        self._older = OlderMessages(self, self._renderer)
        self._reveal = MessageReveal(self)
        self.media = ChatMedia(self.document, self)
        self.media.tileChanged.connect(self._on_tile_changed)
        self.waiting_phase: Callable[[], str] = lambda: "waiting for the model"
        self._waiting = WaitingLine(self)
        self.actions_bar = MessageActions(self)
        self.verticalScrollBar().valueChanged.connect(self.actions_bar.follow_scroll)
        self.cursorPositionChanged.connect(self._on_cursor_moved)
        self.viewport().setMouseTracking(True)
        self.show_placeholder()

    # ---------------------------------------------------------------- display
    def set_dark(self, dark: bool) -> None:
        self._dark = self.media.dark = dark
        if self._messages and self._stream is None:
            self.show_messages(self._messages, self._branches)

    @property
    def dark(self) -> bool:
        return self._dark

    def show_placeholder(self, text: str = "Start a conversation: type a question below.") -> None:
        self._messages, self._stream, self._finish_with = [], None, None
        self.actions_bar.forget()
        self._older.reset()
        show_in_new_document(self, f"<p style='color: gray; text-align: center; margin-top: 40px'>{html.escape(text)}</p>")

    def show_messages(self, messages: list[Message], branches: dict[int, Branch] | None = None) -> None:
        """Render the thread; a last message that is streaming gets a StreamRegion for its body.

        When the thread only grew (a question sent, an answer begun), the new messages are appended
        and everything above keeps its rendered form. Otherwise the newest messages are rendered at
        once (within first_paint's budget) and the older ones are rendered on the Markdown worker and
        put above them a few at a time, so a long conversation never blocks the window.
        """
        branches = dict(branches or {})
        if not messages:
            self.show_placeholder()
            return
        shown = len(self._messages)
        grew = (self._stream is None and 0 < shown < len(messages) and messages[:shown] == self._messages
                and all(self._branches.get(m.id) == branches.get(m.id) for m in messages[:shown]))
        self._messages, self._branches = list(messages), branches
        self._stream, self._finish_with = None, None
        self.actions_bar.forget()
        self.media.know(a for m in messages for a in m.attachments)
        colors = html_colors(self._dark)
        streaming = messages[-1] if messages[-1].state is MessageState.STREAMING else None
        finished = messages[:-1] if streaming else messages
        if grew:
            parts = [self._message_html(m, colors) for m in finished[shown:]]
        else:
            self._older.reset()
            first, parts = newest_parts(self, finished, colors)
        if streaming is not None:
            parts.append(header_html(streaming, colors) + attachments_html(streaming, colors))
        if grew:
            cursor = QTextCursor(self.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
            cursor.insertHtml(SEPARATOR.join(parts))
        else:
            show_in_new_document(self, SEPARATOR.join(parts))
            self._older.start(finished[:first], colors)
        if streaming is not None:
            self._stream = StreamRegion(self.document(), streaming.id, colors, self._dark, self._renderer)
            self._want = (streaming.text, streaming.reasoning)
            self._paint_now()
            self._waiting.start(streaming.id)
        self.settle_layout()
        self.scroll_to_end()

    def _message_html(self, msg: Message, colors, body: str | None = None) -> str:
        key = (msg.id, hash(msg.text), self._dark)
        if body is not None:
            self._bodies[key] = body
        body = self._bodies.get(key)
        if body is None and msg.role is Role.ASSISTANT:
            body = render_markdown(msg.text, message_id=msg.id, dark=self._dark)
            self._bodies[key] = body
        return message_html(msg, self._branches.get(msg.id), colors, dark=self._dark,
                            thinking_open=msg.id in self._thinking_open, body=body)

    def moved_above_stream(self, moved: int) -> None:
        """Called after text above the streaming answer was inserted or removed."""
        if self._stream is not None and moved:
            self._stream.shift(moved)

    def forget_rendered(self) -> None:
        """Drop the rendered Markdown kept per message (the next open renders it again)."""
        self._bodies.clear()

    def cached_body(self, msg: Message) -> str | None:
        return self._bodies.get((msg.id, hash(msg.text), self._dark)) if msg.role is Role.ASSISTANT else ""

    @property
    def loading(self) -> bool:
        """Older messages are still being put above the newest ones."""
        return self._older.active

    @property
    def older_waiting(self) -> int:
        """Older messages that come in when the reader scrolls up."""
        return self._older.waiting

    def reveal_message(self, message_id: int, query: str = "") -> bool:
        """A search hit: scroll to the message and highlight it for a moment, and the query's word in it."""
        return self._reveal.reveal(message_id, query)

    @property
    def revealed(self) -> int | None:
        """The message highlighted by the last search hit, while its highlight lasts."""
        return self._reveal.shown

    def visible_text(self) -> str:
        """The text in the visible part of the view."""
        rect = self.viewport().rect()
        start = self.cursorForPosition(rect.topLeft()).position()
        end = self.cursorForPosition(rect.bottomRight()).position()
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selection().toPlainText()

    def paint_stream(self, text: str, reasoning: str) -> None:
        if self._stream is None:
            return
        self._want = (text, reasoning)
        self._paint_now()

    def finish_stream(self, message: Message, branch: Branch | None) -> None:
        """Final text, then state, stats and actions under it; the rest of the document is untouched."""
        if self._stream is None or self._stream.message_id != message.id:
            return
        self._want = (message.text, message.reasoning)
        self._finish_with = (message, branch)
        self._catch_up.start()  # from the next event-loop turn: the store write was this one

    @Slot()
    def _paint_now(self) -> None:
        """Paint what is wanted; if the region trails behind, continue from the next event-loop turn."""
        stream = self._stream
        if stream is None:
            return
        follow = self._at_bottom()
        finishing = self._finish_with is not None
        caught_up = stream.paint(*self._want, tail=not finishing)
        if caught_up and finishing and not stream.closed:
            stream.close()  # the last block goes to the renderer; its HTML comes on a later turn
            caught_up = False
        if not caught_up:
            self._catch_up.start()
        elif finishing:
            message, branch = self._finish_with
            self._finish_with, self._stream = None, None
            self._waiting.stop()
            self._thinking_open.discard(message.id)
            self._thinking_open |= {message.id} if stream.thinking_open else set()
            stream.append_footer(footer_html(message, branch, html_colors(self._dark)))
            self._bodies[(message.id, hash(message.text), self._dark)] = "".join(stream.rendered_html)
            self._messages[-1] = message
            if branch is not None:
                self._branches[message.id] = branch
            self.streamFinished.emit(message.id)
        if follow:
            self.scroll_to_end()

    def show_waiting(self, line: str) -> None:
        """Called by the waiting line's timer while the streaming answer has nothing yet."""
        if self._stream is not None and self._finish_with is None:
            self._stream.show_waiting(waiting_html(line, html_colors(self._dark)))

    @property
    def waiting_for_first_token(self) -> bool:
        return self._stream is not None and not self._stream.text and not self._stream.reasoning

    @property
    def streaming_message_id(self) -> int | None:
        return self._stream.message_id if self._stream else None

    def shutdown(self) -> None:
        """Stop the Markdown worker (the app is closing)."""
        self._catch_up.stop()
        self._waiting.stop()
        self._older.reset()
        self._renderer.shutdown()
        self.media.shutdown()
        shutdown_viewers()

    def plain_text(self) -> str:
        return self.toPlainText()

    def settle_layout(self) -> None:
        """Finish the layout and give the scroll bar its range now, not from a later timer (Qt batches
        documentSizeChanged): a scroll position set or read next is then the one that will show."""
        layout = self.document().documentLayout()
        layout.documentSizeChanged.emit(layout.documentSize())

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 (Qt override)
        if url.scheme() == MEDIA_SCHEME:  # the app's own tiles of the messages' attachments
            return self.media.image(url.path())
        # Never fetch anything from the network or disk for rendered Markdown (tracking pixels, etc.).
        if kind == QTextDocument.ResourceType.ImageResource.value or url.scheme() in ("http", "https", "file"):
            return None
        return super().loadResource(kind, url)

    # ---------------------------------------------------------------- actions
    def message_text(self, message_id: int) -> str:
        if self._stream is not None and self._stream.message_id == message_id:
            return self._stream.text
        return next((m.text for m in self._messages if m.id == message_id), "")

    def message_with_thinking(self, message_id: int) -> str:
        """The answer with its thinking quoted above it, as Markdown (like the export's)."""
        msg = next((m for m in self._messages if m.id == message_id), None)
        if msg is None or not msg.reasoning:
            return self.message_text(message_id)
        quoted = "\n".join(f"> {line}" for line in msg.reasoning.strip().splitlines())
        return f"> **Thinking**\n>\n{quoted}\n\n{msg.text.lstrip()}"

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            if confirm_open_link(self, url):
                QDesktopServices.openUrl(url)
        elif url.scheme() == "mimo":
            self.run_action(url.path())

    @Slot(QUrl)
    def _on_link_hovered(self, url: QUrl) -> None:
        """A web link shows where it goes before it is clicked."""
        address = url.toString() if url.scheme() in ("http", "https", "mailto") else ""
        self.linkHovered.emit(address)
        if address:
            QToolTip.showText(QCursor.pos(), address, self)
        else:
            QToolTip.hideText()

    def run_action(self, path: str) -> None:
        """``path`` as in the links: ``regenerate/12``, ``branch/12/-1``, ``copy-code/12/0``."""
        action, _, rest = path.partition("/")
        args = [int(a) for a in rest.split("/") if a.lstrip("-").isdigit()]
        if not args:
            return
        message_id, arg = args[0], (args[1] if len(args) > 1 else 0)
        if action == "copy":
            self._copy(self.message_text(message_id), "message")
        elif action == "copy-thinking":
            self._copy(self.message_with_thinking(message_id), "message")
        elif action == "copy-code":
            blocks = code_blocks(self.message_text(message_id))
            if 0 <= arg < len(blocks):
                self._copy(blocks[arg], "code")
        elif action == "media":
            self._open_media(message_id, arg)
        elif action == "show-all":
            show_text(self, self.message_text(message_id))
        elif action == "thinking":
            stream = self._stream
            if stream is not None and stream.message_id == message_id:
                stream.set_thinking_open(not stream.thinking_open)
                self._thinking_open.discard(message_id)
                self._thinking_open |= {message_id} if stream.thinking_open else set()
            else:
                self._thinking_open ^= {message_id}
                toggle_thinking_in_place(self, message_id)
        elif action in CONTROLLER_ACTIONS:
            self.actionRequested.emit(action, message_id, arg)

    def message(self, message_id: int) -> Message | None:
        return next((m for m in self._messages if m.id == message_id), None)

    def branch_of(self, message_id: int) -> Branch | None:
        return self._branches.get(message_id)

    def role_label(self, message_id: int) -> str:
        msg = self.message(message_id)
        return ROLE_LABEL.get(msg.role, msg.role.value) if msg is not None else ""

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().mouseMoveEvent(event)
        block = self.cursorForPosition(event.position().toPoint()).block()
        self.actions_bar.show_for(message_at(block))

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().leaveEvent(event)
        if not self.actions_bar.underMouse() and not self.actions_bar.hasFocus():
            self.actions_bar.hide()

    def focusNextPrevChild(self, next_: bool) -> bool:  # noqa: N802 (Qt override)
        moved = super().focusNextPrevChild(next_)  # Tab: from link to link in the messages
        self._on_cursor_moved()
        return moved

    @Slot()
    def _on_cursor_moved(self) -> None:
        """Tab onto a message's link (or click into it): its actions show, for the keyboard too."""
        if self.hasFocus():
            self.actions_bar.show_for(message_at(self.textCursor().block()))

    def thinking_is_open(self, message_id: int) -> bool:
        return message_id in self._thinking_open

    def _open_media(self, message_id: int, index: int) -> None:
        msg = next((m for m in self._messages if m.id == message_id), None)
        if msg is None or not 0 <= index < len(msg.attachments) or self.media.path_of is None:
            return
        att = msg.attachments[index]
        open_media(self, Path(self.media.path_of(att)), att.kind, att.name, self.media.preview_of(att.sha256))

    @Slot(str)
    def _on_tile_changed(self, _sha256: str) -> None:
        self.viewport().update()

    def _copy(self, text: str, what: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(what)
