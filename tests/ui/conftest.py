import pytest
from ui_engine import EngineLog, scripted_choice

from mimo_desktop.app import build_window
from mimo_desktop.core.store import Store


@pytest.fixture(autouse=True)
def _ui_keyring(memory_keyring):
    """Every UI test: settings and dialogs read and write the in-memory keyring, never the OS's."""
    return memory_keyring


@pytest.fixture(autouse=True)
def _clipboard_emptied():
    """After each test the clipboard is emptied while Python still runs: Qt owns the QMimeData a test put
    there, and deleting its Python wrapper from Qt's exit-time destructors, after the interpreter is gone,
    crashed the test process at exit (rc 139 after every test had passed)."""
    yield
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        QGuiApplication.clipboard().clear()


@pytest.fixture
def store(mimo_home):
    s = Store.open(mimo_home)
    yield s
    s.close()


@pytest.fixture
def window(qtbot, store, no_thread_leaks):
    win, controller = build_window(store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.controller = controller
    yield win
    shutdown = getattr(controller, "shutdown", None)
    if shutdown:
        shutdown()


@pytest.fixture
def engine_log():
    return EngineLog()


@pytest.fixture
def engine_window(qtbot, window, engine_log):
    """The window with a scripted engine on the real EngineHost, ready."""
    window.controller.engine.tick_s = 0.05
    window.controller.engine.start_with(scripted_choice(engine_log))
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    return window
