"""The conversation view: the current thread rendered as Markdown, read-only.

Rendered Markdown never loads remote resources and links open only after a click.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Slot
from PySide6.QtGui import QDesktopServices, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from mimo_desktop.core.conversation import Message, MessageState, Role

from .markdown import render_markdown

ROLE_LABEL = {Role.USER: "You", Role.ASSISTANT: "MiMo", Role.SYSTEM: "System"}
STATE_NOTE = {
    MessageState.STREAMING: "answering…",
    MessageState.STOPPED: "stopped",
    MessageState.FAILED: "failed",
}


class ChatView(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self._messages: list[Message] = []
        self.show_placeholder()

    def show_placeholder(self, text: str = "Start a conversation: type a question below.") -> None:
        self._messages = []
        self.setHtml(f"<p style='color: gray; text-align: center; margin-top: 40px'>{html.escape(text)}</p>")

    def show_messages(self, messages: list[Message]) -> None:
        self._messages = list(messages)
        if not messages:
            self.show_placeholder()
            return
        self.setHtml("".join(message_html(m) for m in messages))
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def plain_text(self) -> str:
        return self.toPlainText()

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 (Qt override)
        # Never fetch anything from the network or disk for rendered Markdown (tracking pixels, etc.).
        if kind == QTextDocument.ResourceType.ImageResource.value or url.scheme() in ("http", "https", "file"):
            return None
        return super().loadResource(kind, url)

    @Slot(QUrl)
    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)


def message_html(msg: Message) -> str:
    who = ROLE_LABEL.get(msg.role, msg.role.value)
    note = STATE_NOTE.get(msg.state, "")
    if msg.error:
        note = f"{note}: {msg.error}" if note else msg.error
    header = f"<p style='margin-bottom:2px'><b>{who}</b>"
    if note:
        header += f" <span style='color:#b26b00'>({html.escape(note)})</span>"
    header += "</p>"
    attachments = "".join(
        f"<p style='margin:0'>📎 {html.escape(a.name)} <span style='color:gray'>({a.kind}"
        f"{f', {a.tokens} tokens' if a.tokens is not None else ''})</span></p>"
        for a in msg.attachments
    )
    body = render_markdown(msg.text) if msg.role is Role.ASSISTANT else _plain(msg.text)
    return f"<div>{header}{attachments}{body}</div><hr/>"


def _plain(text: str) -> str:
    return "<p>" + html.escape(text).replace("\n", "<br/>") + "</p>"
