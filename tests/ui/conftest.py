import keyring
import pytest
from keyring.backend import KeyringBackend
from ui_engine import EngineLog, scripted_choice

from mimo_desktop.app import build_window
from mimo_desktop.core.store import Store


class MemoryKeyring(KeyringBackend):
    """The OS keyring's interface, kept in memory (no Secret Service offscreen)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.passwords.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


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
