"""The actions of a message as icon buttons that show on hover and on keyboard focus."""

from chat_helpers import send, wait_idle
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent, QTextCursor
from PySide6.QtWidgets import QApplication

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.ui.chat.thinking import find_link_block


def hover(widget, pos: QPoint) -> None:
    """A mouse move with no button held, as the window system sends it (QTest's does not reach
    widgets on the offscreen platform)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def point_of(chat, text: str) -> QPoint:
    cursor = chat.document().find(text)
    assert not cursor.isNull(), text
    chat.setTextCursor(cursor)
    chat.ensureCursorVisible()
    return chat.cursorRect(cursor).center()


def test_hovering_an_answer_shows_its_icon_buttons_and_copy_copies_it(qtbot, window, store):
    conv = store.create_conversation("actions")
    question = store.add_message(conv.id, Role.USER, "What is on the table?")
    answer = store.add_message(conv.id, Role.ASSISTANT, "A cup of tea.\n\nAnd a book.", state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    chat, bar = window.chat, window.chat.actions_bar
    qtbot.waitUntil(lambda: not chat.loading)
    window.activateWindow()
    chat.clearFocus()
    assert not bar.isVisible()
    hover(chat.viewport(), point_of(chat, "And a book"))
    qtbot.waitUntil(lambda: bar.isVisible() and bar.message_id == answer.id)
    names = [b.accessibleName() for b in bar.buttons.values()]
    assert names == ["Copy message", "Regenerate answer"]
    qtbot.mouseClick(bar.buttons["copy"], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == answer.text
    hover(chat.viewport(), point_of(chat, "What is on the table"))
    qtbot.waitUntil(lambda: bar.message_id == question.id)
    assert [b.accessibleName() for b in bar.buttons.values()] == ["Copy message", "Edit question"]
    qtbot.mouseClick(bar.buttons["edit"], Qt.MouseButton.LeftButton)
    assert window.edit_bar.isVisible() and window.composer.text() == "What is on the table?"


def test_keyboard_focus_on_a_message_shows_its_actions_with_the_branch_switcher(qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=2")
    wait_idle(qtbot, engine_window)
    chat, bar = engine_window.chat, engine_window.chat.actions_bar
    [conv] = store.conversations()
    first = store.thread(conv.id)[-1]
    chat.run_action(f"regenerate/{first.id}")
    wait_idle(qtbot, engine_window)
    second = store.thread(conv.id)[-1]
    chat.setFocus()
    cursor = QTextCursor(chat.document())
    cursor.setPosition(chat.document().find("t0 t1").position())
    chat.setTextCursor(cursor)  # where Tab onto its links would put it
    qtbot.waitUntil(lambda: bar.isVisible() and bar.message_id == second.id)
    assert [b.accessibleName() for b in bar.buttons.values()] == [
        "Copy message", "Regenerate answer", "Previous version", "Next version"]
    assert bar.branch_label.text() == "2/2"
    bar.buttons["previous"].click()
    assert store.thread(conv.id)[-1].id == first.id and "1/2" in chat.plain_text()


def test_the_bar_stays_reachable_at_the_top_while_a_long_answers_top_is_scrolled_away(qtbot, window, store):
    conv = store.create_conversation("long answer")
    store.add_message(conv.id, Role.USER, "Tell me everything")
    answer = store.add_message(conv.id, Role.ASSISTANT, "\n\n".join(f"Paragraph {i}. " * 8 for i in range(80)),
                               state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    chat, bar = window.chat, window.chat.actions_bar
    qtbot.waitUntil(lambda: not chat.loading)
    hover(chat.viewport(), point_of(chat, "Paragraph 60."))
    qtbot.waitUntil(lambda: bar.isVisible() and bar.message_id == answer.id)
    top = chat.viewport().geometry().y()
    assert top <= bar.y() <= top + 4  # its header is far above: the bar waits at the top of the view
    chat.verticalScrollBar().setValue(chat.verticalScrollBar().value() - 40)
    assert top <= bar.y() <= top + 4  # and stays there while the reader scrolls
    assert find_link_block(chat.document(), f"mimo:copy/{answer.id}", "Copy") is not None  # the links stay too


def test_tab_reaches_a_messages_actions_and_enter_runs_them(qtbot, window, store):
    conv = store.create_conversation("keys")
    store.add_message(conv.id, Role.USER, "Say hi")
    answer = store.add_message(conv.id, Role.ASSISTANT, "Hi there.", state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    chat = window.chat
    qtbot.waitUntil(lambda: not chat.loading)
    chat.setFocus()
    chat.moveCursor(QTextCursor.MoveOperation.Start)
    for _ in range(12):
        qtbot.keyClick(chat, Qt.Key.Key_Tab)
        if chat.textCursor().charFormat().anchorHref() == f"mimo:copy/{answer.id}":
            break
    assert chat.textCursor().charFormat().anchorHref() == f"mimo:copy/{answer.id}"
    assert chat.actions_bar.isVisible() and chat.actions_bar.message_id == answer.id  # shown on focus too
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(chat, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == "Hi there."
