"""The sidebar as a person uses it: date headings, previews, rename in place, hover buttons, Ctrl+N, search."""

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from mimo_desktop.core.conversation import Role
from mimo_desktop.core.queries import HIT_END, HIT_START

DAY = 86400


def touched(store, conversation_id, days_ago):
    store._conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?",
                        (time.time() - days_ago * DAY, conversation_id))


def chat(store, title, *texts):
    conv = store.create_conversation(title)
    for i, text in enumerate(texts):
        store.add_message(conv.id, Role.USER if i % 2 == 0 else Role.ASSISTANT, text)
    return conv


def row_rect(window, conversation_id):
    lst = window.conversations.list
    return lst.visualItemRect(window.conversations.item_of(conversation_id))


def test_conversations_are_grouped_by_date_with_a_line_of_the_latest_message(qtbot, window, store):
    today = chat(store, "Robins", "What bird?", "A **robin**, eating a worm.")
    yesterday = chat(store, "Trams", "When is the tram?")
    week = chat(store, "Tides", "Tide tables please")
    old = chat(store, "Old", "ancient question")
    touched(store, yesterday.id, 1)
    touched(store, week.id, 4)
    touched(store, old.id, 45)
    window.controller.refresh_list()
    window.controller.open_conversation(today.id)
    month = time.strftime("%B %Y", time.localtime(time.time() - 45 * DAY))
    assert window.conversations.headings() == ["Today", "Yesterday", "Previous 7 days", month]
    assert window.conversations.titles() == ["Robins", "Trams", "Tides", "Old"]
    assert window.conversations.previews()[0] == "A robin, eating a worm."
    assert window.controller.current_id == today.id  # the newest opens at start, selected in the list
    assert window.conversations.current_conversation() == today.id


def test_arrow_keys_step_over_the_date_headings(qtbot, window, store):
    a = chat(store, "today", "a")
    b = chat(store, "older", "b")
    touched(store, b.id, 3)
    window.controller.refresh_list()
    lst = window.conversations.list
    lst.setCurrentItem(window.conversations.item_of(a.id))
    lst.setFocus()
    qtbot.keyClick(lst, Qt.Key.Key_Down)
    assert window.controller.current_id == b.id
    assert "b" in window.chat.plain_text()


def test_f2_renames_in_place_and_esc_cancels(qtbot, window, store):
    conv = chat(store, "old name", "hello")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    qtbot.keyClick(window, Qt.Key.Key_F2)
    editor = window.conversations.list.findChild(QLineEdit, "renameEdit")
    assert editor is not None and editor.isVisible() and editor.selectedText() == "old name"
    qtbot.keyClicks(editor, "Birds of the garden")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: store.conversation(conv.id).title == "Birds of the garden")
    assert window.conversations.titles() == ["Birds of the garden"]

    qtbot.keyClick(window, Qt.Key.Key_F2)
    editor = window.conversations.list.findChild(QLineEdit, "renameEdit")
    qtbot.keyClicks(editor, "never mind")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert store.conversation(conv.id).title == "Birds of the garden"


def test_an_emptied_title_is_not_saved(qtbot, window, store):
    conv = chat(store, "keep me", "hi")
    window.controller.refresh_list()
    editor = window.conversations.rename(conv.id)
    editor.clear()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert store.conversation(conv.id).title == "keep me"


def test_hover_buttons_rename_and_delete_the_row_under_the_pointer(qtbot, window, store):
    keep = chat(store, "keep", "k")
    doomed = chat(store, "doomed", "d")
    window.controller.refresh_list()
    window.controller.open_conversation(keep.id)
    lst = window.conversations.list
    buttons = window.conversations.delegate.button_rects(row_rect(window, doomed.id))
    qtbot.mouseMove(lst.viewport(), buttons["rename"].center())
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=buttons["rename"].center())
    editor = lst.findChild(QLineEdit, "renameEdit")
    assert editor is not None and editor.text() == "doomed"
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.wait(QApplication.doubleClickInterval() + 50)  # a person's second click, not a double-click

    buttons = window.conversations.delegate.button_rects(row_rect(window, doomed.id))
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=buttons["delete"].center())
    assert window.conversations.titles() == ["keep"]
    assert "doomed" in window.conversations.undo_label.text()
    assert window.controller.current_id == keep.id  # deleting another row does not switch the open one


def test_hover_shows_the_buttons_only_on_the_row_under_the_pointer(qtbot, window, store):
    first = chat(store, "first", "one")
    second = chat(store, "second", "two")
    window.controller.refresh_list()
    window.controller.open_conversation(second.id)
    window.conversations.list.clearSelection()
    lst = window.conversations.list
    rect = row_rect(window, first.id)
    button = window.conversations.delegate.button_rects(rect)["delete"]

    def ink():
        image = lst.viewport().grab().toImage()
        return sum(image.pixelColor(x, y).lightness() < 160
                   for x in range(button.left(), button.right()) for y in range(button.top(), button.bottom()))

    qtbot.mouseMove(lst.viewport(), row_rect(window, second.id).center())
    qtbot.wait(50)
    before = ink()
    qtbot.mouseMove(lst.viewport(), rect.center())
    qtbot.waitUntil(lambda: ink() > before + 3, timeout=2000)


def test_a_long_title_is_elided_and_the_list_never_scrolls_sideways(qtbot, window, store):
    chat(store, "A very long title " * 12, "and a very long first message " * 20)
    window.controller.refresh_list()
    window.splitter.setSizes([160, 900])
    qtbot.wait(20)
    lst = window.conversations.list
    assert lst.horizontalScrollBar().maximum() == 0
    assert not lst.horizontalScrollBar().isVisible()


def test_ctrl_n_reuses_an_empty_new_conversation(qtbot, window, store):
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    [blank] = store.conversations()
    assert window.controller.current_id == blank.id
    assert window.conversations.titles() == ["New conversation"]
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, "now it has a message")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert len(store.conversations()) == 2
    assert window.conversations.titles() == ["New conversation", "now it has a message"]


def test_search_shows_the_match_highlighted_and_opens_the_branch_that_matched(qtbot, window, store):
    conv = store.create_conversation("Animals")
    question = store.add_message(conv.id, Role.USER, "Tell me about a striped animal")
    store.add_message(conv.id, Role.ASSISTANT, "The zebra has black and white stripes.")
    store.add_message(conv.id, Role.ASSISTANT, "A tiger is orange with stripes.", parent_id=question.id)
    other = chat(store, "Vehicles", "the tram is late")
    window.controller.refresh_list()
    window.controller.open_conversation(other.id)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.conversations.search, "zebr")
    assert window.conversations.titles() == ["Animals"]
    assert window.conversations.previews() == [f"The {HIT_START}zebra{HIT_END} has black and white stripes."]
    lst = window.conversations.list
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=row_rect(window, conv.id).center())
    assert window.controller.current_id == conv.id
    assert "The zebra has black" in window.chat.plain_text()
    assert "tiger" not in window.chat.plain_text()
    assert store.thread(conv.id)[-1].text.startswith("The zebra")  # the branch stays chosen


def test_search_preview_draws_the_matched_word_on_a_highlight(qtbot, window, store):
    chat(store, "Animals", "word " * 3 + "zebra" + " word" * 3)
    window.controller.refresh_list()
    window.conversations.search.setText("zebra")
    lst = window.conversations.list
    rect = lst.visualItemRect(window.conversations._items()[0])
    image = lst.viewport().grab().toImage()
    preview_y = rect.top() + rect.height() * 3 // 4
    tint = lst.palette().highlight().color()
    tinted = sum(1 for x in range(rect.left(), rect.right())
                 if abs(image.pixelColor(x, preview_y).hue() - tint.hue()) < 20
                 and image.pixelColor(x, preview_y).saturation() > 30)
    assert tinted > 10, "no highlighted run in the preview line"


def test_right_click_menu_offers_rename_and_delete(qtbot, window, store):
    conv = chat(store, "menu", "m")
    window.controller.refresh_list()
    lst = window.conversations.list
    from PySide6.QtWidgets import QMenu

    seen = []

    def look():
        menu = next(w for w in window.conversations.findChildren(QMenu) if w.isVisible())
        seen.extend(a.text() for a in menu.actions())
        menu.close()

    from PySide6.QtCore import QTimer

    QTimer.singleShot(100, look)
    lst.customContextMenuRequested.emit(QPoint(row_rect(window, conv.id).center()))
    assert seen == ["Rename…\tF2", "Delete\tDel"]


def test_a_hit_in_the_open_conversation_switches_it_to_the_branch_that_matched(qtbot, window, store):
    conv = store.create_conversation("Birds")
    question = store.add_message(conv.id, Role.USER, "Which bird is small and brown?")
    store.add_message(conv.id, Role.ASSISTANT, "A house sparrow.")
    store.add_message(conv.id, Role.ASSISTANT, "A dunnock.", parent_id=question.id)
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    assert "A dunnock." in window.chat.plain_text()
    qtbot.keyClicks(window.conversations.search, "sparrow")
    qtbot.keyClick(window.conversations.search, Qt.Key.Key_Return)  # Enter opens the first result
    assert "A house sparrow." in window.chat.plain_text() and "dunnock" not in window.chat.plain_text()


def test_a_long_history_is_listed_a_chunk_at_a_time_and_the_open_one_stays_selected(qtbot, window, store):
    from mimo_desktop.ui.sidebar.conversation_list import FILL_CHUNK

    store._conn.execute("PRAGMA synchronous = OFF")  # seeding 350 conversations, not testing durability
    convs = [chat(store, f"conversation {i}", f"question {i}") for i in range(350)]
    oldest = convs[0]
    window.controller.refresh_list()
    window.controller.open_conversation(oldest.id)  # at the bottom of the list, in the last chunk
    window.controller.refresh_list()
    assert window.conversations.filling and len(window.conversations.titles()) == FILL_CHUNK
    qtbot.waitUntil(lambda: not window.conversations.filling)
    assert len(window.conversations.titles()) == 350
    assert window.conversations.titles()[-1] == "conversation 0"
    assert window.conversations.current_conversation() == oldest.id
