"""Thinking folds and unfolds in place: finished or streaming, the view does not jump."""

from chat_helpers import click_link, send, wait_idle
from PySide6.QtGui import QTextCursor

from mimo_desktop.core.conversation import GenerationStats, MessageState, Role
from mimo_desktop.ui.chat.thinking import find_link_block


def line_y(chat, message_id: int) -> int:
    block = find_link_block(chat.document(), f"mimo:thinking/{message_id}", "Thinking")
    cursor = QTextCursor(block)
    return chat.cursorRect(cursor).top()


def test_unfolding_a_finished_answers_thinking_keeps_its_line_where_it_was(qtbot, window, store):
    conv = store.create_conversation("think")
    for n in range(6):
        store.add_message(conv.id, Role.USER, f"Question {n}")
        answer = store.add_message(conv.id, Role.ASSISTANT, f"Answer {n}.\n\n" + "Words here. " * 120,
                                   state=MessageState.COMPLETE)
        store.update_message(answer.id, reasoning=f"thought {n} " * 30 + "\n\nsecond thought",
                             stats=GenerationStats(thinking_s=1.0))
    middle = store.thread(conv.id)[5]  # the third answer: above the end of the conversation
    window.controller.open_conversation(conv.id)
    chat = window.chat
    qtbot.waitUntil(lambda: not chat.loading)
    bar = chat.verticalScrollBar()
    cursor = QTextCursor(find_link_block(chat.document(), f"mimo:thinking/{middle.id}", "Thinking"))
    chat.setTextCursor(cursor)
    chat.ensureCursorVisible()
    where, value = line_y(chat, middle.id), bar.value()
    assert 0 <= where < chat.viewport().height() and value < bar.maximum()
    click_link(qtbot, chat, f"mimo:thinking/{middle.id}")
    assert "thought 2 thought 2" in chat.plain_text() and "second thought" in chat.plain_text()
    assert "thought 3 thought 3" not in chat.plain_text()  # only that one opened
    assert bar.value() == value and line_y(chat, middle.id) == where
    assert "▾ Thinking" in chat.plain_text()
    click_link(qtbot, chat, f"mimo:thinking/{middle.id}")
    assert "thought 2 thought 2" not in chat.plain_text() and "▾ Thinking" not in chat.plain_text()
    assert bar.value() == value and line_y(chat, middle.id) == where
    assert chat.plain_text().count("Answer ") == 6  # nothing else changed


def test_thinking_folds_while_it_streams_and_unfolds_while_the_answer_streams(qtbot, engine_window, store):
    chat = engine_window.chat
    send(qtbot, engine_window, "think=3 tokens=0 then=hang")
    qtbot.waitUntil(lambda: "ponder2" in chat.plain_text(), timeout=10000)
    answer_id = chat.streaming_message_id
    click_link(qtbot, chat, f"mimo:thinking/{answer_id}")
    assert "ponder1" not in chat.plain_text() and "▸ Thinking" in chat.plain_text()
    click_link(qtbot, chat, f"mimo:thinking/{answer_id}")
    assert "ponder1" in chat.plain_text() and "▾ Thinking" in chat.plain_text()
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)

    send(qtbot, engine_window, "think=3 tokens=4 then=hang")
    qtbot.waitUntil(lambda: "t3" in chat.plain_text(), timeout=10000)
    answer_id = chat.streaming_message_id
    assert answer_id is not None and "ponder1 ponder2" not in chat.plain_text().split("Question")[-1][-200:]
    click_link(qtbot, chat, f"mimo:thinking/{answer_id}")  # unfold while the answer streams
    text = chat.plain_text()
    tail = text[text.rfind("think=3 tokens=4"):]
    assert "ponder0 ponder1 ponder2" in tail and tail.index("ponder2") < tail.index("t0 t1 t2 t3")
    engine_window.controller.streamer.current.writer.append("more ")
    engine_window.controller.streamer.current.dirty = True
    qtbot.waitUntil(lambda: "t3 more" in chat.plain_text(), timeout=5000)  # the answer keeps growing below
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    text = chat.plain_text()
    tail = text[text.rfind("think=3 tokens=4"):]
    assert "ponder1" in tail and "t0 t1 t2 t3 more" in tail  # still open once it ended
