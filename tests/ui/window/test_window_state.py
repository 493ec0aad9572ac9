"""The window's size and sidebar come back after a restart; 800×600 keeps the conversation usable."""

from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from mimo_desktop.app import build_window
from mimo_desktop.core.conversation import Role


def restart(qtbot, window, store):
    window.close()
    again, controller = build_window(store, start_engine=False)
    qtbot.addWidget(again)
    again.controller = controller
    again.show()
    qtbot.waitExposed(again)
    again.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is again)  # its shortcuts answer the keys
    return again


def drag_splitter(qtbot, window, dx):
    handle = window.splitter.handle(1)
    start = handle.rect().center()
    qtbot.mousePress(handle, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(handle, start + QPoint(dx, 0))
    qtbot.mouseRelease(handle, Qt.MouseButton.LeftButton, pos=start + QPoint(dx, 0))


def test_window_size_and_sidebar_width_come_back_after_a_restart(qtbot, window, store, mimo_home):
    window.resize(760, 560)  # within the offscreen screen (800×600): a restored window is kept on screen
    qtbot.waitUntil(lambda: window.size().width() == 760)
    assert window.splitter.sizes()[0] == 190  # a small window: the sidebar narrowed to a quarter
    drag_splitter(qtbot, window, -14)
    dragged = window.splitter.sizes()[0]
    assert 170 <= dragged < 190
    again = restart(qtbot, window, store)
    assert (again.width(), again.height()) == (760, 560)
    assert again.splitter.sizes()[0] == dragged
    assert (mimo_home / "window.ini").is_file()
    again.controller.shutdown()


def test_a_hidden_sidebar_stays_hidden_and_search_brings_it_back(qtbot, window, store):
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not window.conversations.isVisible()
    again = restart(qtbot, window, store)
    assert not again.conversations.isVisible() and not again.sidebar_action.isChecked()
    qtbot.keyClick(again, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert again.conversations.isVisible() and again.conversations.search.hasFocus()
    assert again.splitter.sizes()[0] >= 170
    again.controller.shutdown()


def test_800_by_600_with_attachments_leaves_the_conversation_room(qtbot, engine_window, store, tmp_path):
    window = engine_window  # an engine set up: no first-run panel above the conversation
    conv = store.create_conversation("small screen")
    store.add_message(conv.id, Role.USER, "hello")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    photos = []
    for i in range(4):
        photos.append(tmp_path / f"photo{i}.png")
        Image.new("RGB", (640, 480), (40 * i, 90, 200)).save(photos[-1])
    window.composer.add_files(photos)
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.composer.strip.isVisible() and window.size().width() == 800)
    qtbot.wait(50)
    assert window.conversations.width() <= 200  # the sidebar gives up width first
    assert window.chat.width() >= 560
    assert window.chat.height() >= 310  # 60 px less with the message box at its full 140 px
    assert window.composer.edit.height() >= 60  # still room for two lines of a question

    window.resize(1300, 800)  # a big window again: the sidebar's own width comes back
    qtbot.waitUntil(lambda: window.conversations.width() == 260)
