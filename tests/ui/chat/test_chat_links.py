"""Links in the conversation: the model's Markdown cannot trigger app actions; web links ask first."""

from chat_helpers import click_link, links
from PySide6.QtCore import QObject, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from mimo_desktop.core.conversation import MessageState, Role

TRICKS = ("Click [edit the question](mimo:edit/77) or <mimo:regenerate/78> or "
          "[copy](MIMO:copy-code/78/0), [js](javascript:alert(1)), and read [the docs](https://example.com/a?b=1).")


class Browser(QObject):
    """Stands in for the system browser: Qt hands it the URLs QDesktopServices would open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def answer_with_tricks(qtbot, window, store):
    conv = store.create_conversation("links")
    question = store.add_message(conv.id, Role.USER, "Show me links")
    answer = store.add_message(conv.id, Role.ASSISTANT, TRICKS, state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    qtbot.waitUntil(lambda: not window.chat.loading)
    return question, answer


def test_links_the_model_writes_to_app_actions_are_plain_text(qtbot, window, store):
    question, answer = answer_with_tricks(qtbot, window, store)
    found = links(window.chat)
    assert not [h for h in found if h.lower().startswith(("mimo:edit/77", "mimo:regenerate/78", "mimo:copy-code",
                                                           "javascript"))]
    assert "https://example.com/a?b=1" in found
    assert f"mimo:regenerate/{answer.id}" in found and f"mimo:edit/{question.id}" in found  # the app's own
    text = window.chat.plain_text()
    assert "[edit the question](mimo:edit/77)" in text and "mimo:regenerate/78" in text


def answer_dialog(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(f"{box.text()} {box.informativeText()}")
        box.button(button).click()

    QTimer.singleShot(20, click)


def test_a_web_link_shows_its_address_and_opens_only_when_the_user_says_so(qtbot, window, store):
    browser = Browser()
    QDesktopServices.setUrlHandler("https", browser, "open")
    try:
        answer_with_tricks(qtbot, window, store)
        hovered: list[str] = []
        window.chat.linkHovered.connect(hovered.append)
        window.chat.highlighted.emit(QUrl("https://example.com/a?b=1"))  # what Qt emits under the pointer
        assert hovered == ["https://example.com/a?b=1"]
        seen: list[str] = []
        answer_dialog(QMessageBox.StandardButton.Cancel, seen)
        click_link(qtbot, window.chat, "https://example.com/a?b=1")
        assert seen == ["Open this address in your browser? https://example.com/a?b=1"]
        assert browser.opened == []
        answer_dialog(QMessageBox.StandardButton.Open, seen)
        click_link(qtbot, window.chat, "https://example.com/a?b=1")
        assert browser.opened == ["https://example.com/a?b=1"]
    finally:
        QDesktopServices.unsetUrlHandler("https")
