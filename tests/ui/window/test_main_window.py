from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from mimo_desktop.core.conversation import Role


def send(qtbot, window, text):
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def test_first_message_creates_a_titled_conversation_and_is_saved(qtbot, window, store):
    assert window.conversations.empty_label.isVisible()
    send(qtbot, window, "What breed is the dog in this photo please tell me now")
    [conv] = store.conversations()
    assert conv.title == "What breed is the dog in this photo…"
    assert [m.text for m in store.thread(conv.id)] == ["What breed is the dog in this photo please tell me now"]
    assert window.conversations.titles() == [conv.title]
    assert "What breed is the dog" in window.chat.plain_text()
    assert window.composer.text() == ""
    assert "No engine is configured" in window.notice.text()


def test_shift_enter_makes_a_new_line_instead_of_sending(qtbot, window, store):
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, "line one")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(window.composer.edit, "line two")
    assert store.conversations() == []
    assert window.composer.text() == "line one\nline two"
    window.composer.send_button.click()
    [conv] = store.conversations()
    assert store.thread(conv.id)[0].text == "line one\nline two"


def test_new_chat_shortcut_and_switching_between_conversations(qtbot, window, store):
    send(qtbot, window, "about cats")
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    send(qtbot, window, "about trains")
    assert window.conversations.titles() == ["about trains", "about cats"]
    cats = next(c for c in store.conversations() if c.title == "about cats")
    window.conversations.list.setCurrentItem(window.conversations.item_of(cats.id))
    assert "about cats" in window.chat.plain_text()
    assert "about trains" not in window.chat.plain_text()


def test_search_filters_the_list_by_message_text(qtbot, window, store):
    a = store.create_conversation("Animals")
    store.add_message(a.id, Role.USER, "the zebra has stripes")
    b = store.create_conversation("Vehicles")
    store.add_message(b.id, Role.USER, "the tram is late")
    window.controller.refresh_list()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.conversations.search.hasFocus()
    qtbot.keyClicks(window.conversations.search, "zebr")
    assert window.conversations.titles() == ["Animals"]
    window.conversations.search.clear()
    assert window.conversations.titles() == ["Vehicles", "Animals"]
    qtbot.keyClicks(window.conversations.search, "nothing like this")
    assert window.conversations.titles() == []
    assert window.conversations.empty_label.text() == "No conversation matches."


def test_delete_with_undo(qtbot, window, store):
    conv = store.create_conversation("precious")
    store.add_message(conv.id, Role.USER, "do not lose me")
    window.controller.refresh_list()
    window.conversations.list.setCurrentItem(window.conversations.item_of(conv.id))
    window.conversations.list.setFocus()
    qtbot.keyClick(window.conversations.list, Qt.Key.Key_Delete)
    assert window.conversations.titles() == []
    assert window.conversations.undo_bar.isVisible()
    assert "precious" in window.conversations.undo_label.text()
    window.conversations.undo_button.click()
    assert window.conversations.titles() == ["precious"]
    assert "do not lose me" in window.chat.plain_text()


def test_markdown_answer_is_rendered_without_remote_resources(qtbot, window, store):
    conv = store.create_conversation("md")
    store.add_message(conv.id, Role.USER, "show code")
    store.add_message(
        conv.id, Role.ASSISTANT,
        "Here:\n\n```python\ndef f():\n    return 1\n```\n\n![track](http://example.invalid/pixel.png) <b>raw</b>",
    )
    window.controller.open_conversation(conv.id)
    html = window.chat.toHtml()
    text = window.chat.plain_text()
    assert "def f():" in text
    assert "<b>raw</b>" in text  # raw HTML shown as text, not interpreted
    assert "color:" in html  # Pygments inline colours reached the document
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    assert window.chat.loadResource(QTextDocument.ResourceType.ImageResource.value,
                                    QUrl("http://example.invalid/pixel.png")) is None


def test_store_failure_becomes_a_notice_and_keeps_the_typed_text(qtbot, window, store):
    conv = store.create_conversation("full disk")
    window.controller.open_conversation(conv.id)
    pages = store.on_writer(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    store.on_writer(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
    send(qtbot, window, "x" * 5000)
    assert "is full" in window.notice.text()
    assert window.composer.text() == "x" * 5000


def test_export_from_the_menu_with_and_without_thinking(qtbot, window, store, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    conv = store.create_conversation("Birds")
    store.add_message(conv.id, Role.USER, "Which bird?")
    answer = store.add_message(conv.id, Role.ASSISTANT, "A robin.")
    store.update_message(answer.id, reasoning="Orange breast, so a robin.")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    targets = iter([tmp_path / "plain.md", tmp_path / "thinking.md", tmp_path / "all.json"])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(next(targets)), ""))
    export_menu = next(a.menu() for a in window.menuBar().actions()[0].menu().actions() if a.menu())
    for action in export_menu.actions():
        action.trigger()
    plain, thinking = (tmp_path / "plain.md").read_text(), (tmp_path / "thinking.md").read_text()
    assert "A robin." in plain and "Orange breast" not in plain
    assert "A robin." in thinking and "> Orange breast, so a robin." in thinking
    assert '"reasoning": "Orange breast, so a robin."' in (tmp_path / "all.json").read_text()


def test_every_window_shortcut_is_listed_in_the_help(qtbot, window):
    from PySide6.QtGui import QKeySequence

    from mimo_desktop.ui.window.help import SHORTCUTS

    listed = {keys for _action, keys in SHORTCUTS}
    bound = {a.shortcut().toString(QKeySequence.SequenceFormat.PortableText) for a in window.findChildren(QAction)}
    bound.discard("")
    assert {"F2", "Ctrl+B", "Ctrl+N", "Ctrl+F", "F1"} <= bound
    assert bound <= listed | {"Del"}, f"bound but not in F1's list: {bound - listed}"
