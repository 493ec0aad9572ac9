import pytest

from mimo_desktop.app import build_window
from mimo_desktop.core.store import Store


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
