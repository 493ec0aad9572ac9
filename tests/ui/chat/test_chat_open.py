"""Opening long conversations: the newest messages first, the older ones above them, long lines folded."""

from PySide6.QtGui import QGuiApplication
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.ui.chat.text_viewer import TextViewer


def long_conversation(store, answers: int = 100, special: dict[int, str] | None = None):
    conv = store.create_conversation("long")
    for n in range(answers):
        store.add_message(conv.id, Role.USER, f"Question {n} about the picture")
        store.add_message(conv.id, Role.ASSISTANT,
                          f"## Answer {n}\n\n| a | b |\n| - | - |\n| {n} | x |\n\n```python\nx = {n}\n```\n"
                          + (special or {}).get(n, "") + "More words. " * 40 + f"\n\nEnd of answer {n}.",
                          state=MessageState.COMPLETE)
    return conv


def load_everything(qtbot, chat) -> None:
    """Scroll to the top until the whole conversation is in the view, as a reader would."""
    for _ in range(200):
        qtbot.waitUntil(lambda: not chat.loading, timeout=20000)
        if not chat.older_waiting:
            return
        chat.verticalScrollBar().setValue(0)
        QApplication.processEvents()
    raise AssertionError(f"the older messages never came in: {chat.older_waiting} still waiting")


def test_a_long_conversation_opens_at_its_newest_messages_and_keeps_every_message_in_order(qtbot, window, store):
    conv = long_conversation(store)
    window.controller.open_conversation(conv.id)
    chat = window.chat
    shown_at_once = chat.plain_text()
    assert "End of answer 99." in chat.visible_text()  # the newest, on screen at once
    assert "Question 0 about" not in shown_at_once  # the oldest are not rendered before the first paint
    load_everything(qtbot, chat)
    text = chat.plain_text()
    positions = [text.find(f"Question {n} about") for n in range(100)]
    assert -1 not in positions and positions == sorted(positions)
    assert text.count("End of answer") == 100
    assert text.count("Copy code") == 100  # every answer rendered, with its code block


def test_older_messages_come_in_above_without_moving_what_the_reader_sees(qtbot, window, store):
    conv = long_conversation(store)
    window.controller.open_conversation(conv.id)
    chat = window.chat

    def at_centre() -> str:
        return chat.cursorForPosition(chat.viewport().rect().center()).block().text()

    first_paint, seen = len(chat.plain_text()), at_centre()
    assert seen and (chat.loading or chat.older_waiting)
    qtbot.waitUntil(lambda: not chat.loading, timeout=20000)
    assert len(chat.plain_text()) > first_paint and at_centre() == seen  # inserted above, view kept
    while chat.older_waiting:  # scrolled to the top: the next older messages come in above it
        chat.verticalScrollBar().setValue(0)
        seen, before = at_centre(), len(chat.plain_text())
        qtbot.waitUntil(lambda: len(chat.plain_text()) > before, timeout=20000)
        qtbot.waitUntil(lambda: not chat.loading, timeout=20000)
        assert at_centre() == seen


def test_opening_another_conversation_drops_the_older_messages_still_pending(qtbot, window, store):
    conv = long_conversation(store)
    other = store.create_conversation("short")
    store.add_message(other.id, Role.USER, "Just one question")
    window.controller.open_conversation(conv.id)
    window.controller.open_conversation(other.id)
    qtbot.wait(200)
    assert not window.chat.loading and not window.chat.older_waiting
    assert "Question" not in window.chat.plain_text().replace("Just one question", "")


def test_one_unbroken_mebibyte_line_is_shown_folded_and_show_all_has_every_character(qtbot, window, store):
    conv = store.create_conversation("base64")
    store.add_message(conv.id, Role.USER, "Encode it")
    line = "QUJD" * (256 * 1024)  # 1 MiB, no space anywhere
    answer = store.add_message(conv.id, Role.ASSISTANT, f"Here:\n\n{line}\n\nDone.", state=MessageState.COMPLETE)
    window.controller.open_conversation(conv.id)
    chat = window.chat
    text = chat.plain_text()
    assert "Here:" in text and "Done." in text and "QUJDQUJD" in text
    assert len(text) < 20_000  # folded, not laid out whole
    assert "Show all 1,048,590 characters" in text
    window.chat.run_action(f"show-all/{answer.id}")
    viewer = window.findChild(TextViewer)
    assert viewer is not None and viewer.isVisible()
    shown = viewer.view.toPlainText()
    assert shown.replace("\n", "") == answer.text.replace("\n", "")
    assert max(len(row) for row in shown.splitlines()) <= 1000
    viewer.copy_button.click()
    assert QGuiApplication.clipboard().text() == answer.text
    viewer.close()


def test_a_pasted_unbroken_line_in_a_question_is_folded_too(qtbot, window, store):
    conv = store.create_conversation("paste")
    store.add_message(conv.id, Role.USER, "x" * 300_000)
    window.controller.open_conversation(conv.id)
    text = window.chat.plain_text()
    assert "xxxx" in text and len(text) < 10_000 and "Show all 300,000 characters" in text


def test_a_streamed_unbroken_mebibyte_line_stays_short_on_screen_and_is_stored_whole(qtbot, engine_window, store):
    from chat_helpers import send, wait_idle

    send(qtbot, engine_window, "run=1024 tokens=2")
    wait_idle(qtbot, engine_window, timeout=60000)
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert len(answer.text) == 1024 * 1024 + len("\n\nt0 t1 ")
    text = engine_window.chat.plain_text()
    assert "QUJDQUJD" in text and "t0 t1" in text and len(text) < 10_000
    assert f"Show all {len(answer.text):,} characters" in text


def test_when_older_messages_wait_for_the_reader_the_view_says_how_many_and_a_click_loads_them(
        qtbot, window, store, monkeypatch):
    from mimo_desktop.ui.chat import older as chat_older

    monkeypatch.setattr(chat_older, "ON_DEMAND_AFTER_S", 0.0)  # as if every insert were slow
    conv = long_conversation(store, answers=40)
    window.controller.open_conversation(conv.id)
    chat = window.chat
    qtbot.waitUntil(lambda: chat.older_waiting and not chat.loading, timeout=20000)
    hint = chat.findChild(QPushButton, "earlierMessages")
    waiting = chat.older_waiting
    assert hint.isVisible() and hint.text() == f"↑ {waiting} earlier messages: scroll up or click to see them"
    assert hint.y() <= chat.viewport().geometry().y() + 4
    before = len(chat.plain_text())
    qtbot.mouseClick(hint, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.older_waiting < waiting, timeout=20000)
    assert len(chat.plain_text()) > before
    load_everything(qtbot, chat)
    assert not hint.isVisible() and chat.plain_text().count("End of answer") == 40


def test_an_answer_streaming_below_keeps_streaming_right_while_older_messages_come_in_above(
        qtbot, engine_window, store, monkeypatch):
    from chat_helpers import send, wait_idle

    from mimo_desktop.ui.chat import older as chat_older

    monkeypatch.setattr(chat_older, "ON_DEMAND_AFTER_S", 0.0)  # the rest waits for the reader
    conv = long_conversation(store, answers=30)
    think = store.add_message(conv.id, Role.USER, "think about it")
    thought = store.add_message(conv.id, Role.ASSISTANT, "Thought through.", state=MessageState.COMPLETE)
    store.update_message(thought.id, reasoning="a long chain of thought")
    assert think
    engine_window.controller.open_conversation(conv.id)
    chat = engine_window.chat
    qtbot.waitUntil(lambda: not chat.loading, timeout=20000)
    send(qtbot, engine_window, "tokens=3 then=hang")
    qtbot.waitUntil(lambda: "t2" in chat.plain_text(), timeout=10000)
    load_everything(qtbot, chat)  # older messages inserted above the streaming answer
    chat.run_action(f"thinking/{thought.id}")  # and a finished answer's thinking unfolded above it
    assert "a long chain of thought" in chat.plain_text()
    streamer = engine_window.controller.streamer
    streamer.current.writer.append("\n\n## Then\n\nmore words\n\n```python\nx = 1\n```\n\nend.")
    streamer.current.dirty = True
    qtbot.waitUntil(lambda: "end." in chat.plain_text(), timeout=5000)
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    text = chat.plain_text()
    assert text.count("End of answer") == 30 and text.index("End of answer 29.") < text.index("t0 t1 t2")
    tail = text[text.rindex("tokens=3 then=hang"):]
    for piece in ("t0 t1 t2", "Then", "more words", "x = 1", "end.", "Stopped"):
        assert piece in tail, piece
    assert tail.index("t0 t1 t2") < tail.index("Then") < tail.index("x = 1") < tail.index("end.")


def test_a_search_hit_scrolls_to_the_message_that_matched_and_highlights_it_for_a_moment(
        qtbot, window, store, monkeypatch):
    from mimo_desktop.ui.chat import older as chat_older

    monkeypatch.setattr(chat_older, "ON_DEMAND_AFTER_S", 0.0)  # older messages wait for the reader...
    conv = long_conversation(store, answers=40, special={4: "An axolotl smiles. "})
    hit = store.thread(conv.id)[9]  # answer 4: far above the newest ones
    other = store.create_conversation("other")
    store.add_message(other.id, Role.USER, "something else")
    window.controller.refresh_list()
    window.controller.open_conversation(other.id)
    chat = window.chat
    qtbot.keyClicks(window.conversations.search, "axolotl")
    assert window.conversations.titles() == ["long"]
    qtbot.keyClick(window.conversations.search, Qt.Key.Key_Return)  # ...but the hit does not wait
    qtbot.waitUntil(lambda: chat.revealed == hit.id, timeout=20000)
    assert "End of answer 4." in chat.visible_text() and "End of answer 39." not in chat.visible_text()
    marked = [s.cursor.selectedText() for s in chat.extraSelections()]
    assert "axolotl" in marked  # the matched word, on a stronger tint
    whole = max(marked, key=len)
    assert whole.startswith("MiMo") and "An axolotl smiles." in whole and "End of answer 4." in whole
    assert "Question 5" not in whole  # the message, not the ones after it
    qtbot.waitUntil(lambda: not chat.extraSelections(), timeout=5000)  # the highlight fades
    assert "End of answer 4." in chat.visible_text()  # and the reader stays there


def test_a_search_hit_on_the_newest_answer_highlights_it_where_it_is(qtbot, window, store):
    conv = store.create_conversation("short")
    store.add_message(conv.id, Role.USER, "What lives in Mexican lakes?")
    answer = store.add_message(conv.id, Role.ASSISTANT, "The axolotl, a salamander.", state=MessageState.COMPLETE)
    window.controller.refresh_list()
    qtbot.keyClicks(window.conversations.search, "salamander")
    qtbot.keyClick(window.conversations.search, Qt.Key.Key_Return)
    chat = window.chat
    qtbot.waitUntil(lambda: chat.revealed == answer.id, timeout=5000)  # the end of the chat: it cannot go to the top
    marked = [s.cursor.selectedText() for s in chat.extraSelections()]
    assert "salamander" in marked and any("The axolotl, a salamander." in m for m in marked)
    assert not any("Mexican" in m for m in marked)
