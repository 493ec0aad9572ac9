"""Settings dialog, first-run panel, shortcuts, help, themes, and the real remote engine behind it."""

import importlib.util
from pathlib import Path

import pytest
from chat_helpers import send, wait_idle
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from mimo_desktop.core.conversation import MessageState
from mimo_desktop.ui.window.help import HelpDialog

_spec = importlib.util.spec_from_file_location(
    "ui_sse_server", Path(__file__).resolve().parents[2] / "engine" / "sse_server.py")
sse_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sse_server)


def open_settings(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = window.controller.engine.settings_dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


@pytest.fixture
def server(no_thread_leaks):
    with sse_server.FakeOpenAIServer(api_key="sk-test") as srv:
        yield srv


def test_first_run_panel_explains_both_ways_and_history_still_works(qtbot, window, store):
    panel = window.first_run
    assert panel.isVisible()
    text = panel.text.text()
    assert "embedded vLLM" in text and "OpenAI-compatible" in text and "huggingface-cli download" in text
    assert "not configured" in window.engine_status.text()
    send(qtbot, window, "still saved")
    [conv] = store.conversations()
    assert [m.text for m in store.thread(conv.id)] == ["still saved"]
    assert "No engine is configured" in window.notice.text()
    panel.settings_button.click()
    assert window.controller.engine.settings_dialog.isVisible()
    window.controller.engine.settings_dialog.reject()


def test_settings_round_trip_with_key_in_the_keyring(qtbot, window, store, memory_keyring):
    conv = store.create_conversation("Birds")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText("http://127.0.0.1:9")
    dialog.model_name.setText("mimo-test")
    dialog.api_key.setText("sk-secret")
    dialog.sampling.temperature.setValue(0.7)
    dialog.sampling.max_tokens.setValue(512)
    dialog.sampling.system_prompt.setPlainText("Answer briefly.")
    dialog.override.setChecked(True)
    dialog.conversation_sampling.top_k.setValue(20)
    dialog.conversation_sampling.max_tokens.setValue(256)
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.accept()
    engine = store.setting("engine")
    assert engine["kind"] == "remote" and engine["remote"] == {
        "url": "http://127.0.0.1:9", "model": "mimo-test", "first_token_timeout_s": 60, "token_timeout_s": 30}
    assert "sk-secret" not in str(engine)  # the key is not in the database...
    assert memory_keyring.passwords[("mimo-desktop", "http://127.0.0.1:9")] == "sk-secret"  # ... but here
    sampling = store.setting("sampling")
    assert sampling["temperature"] == 0.7 and sampling["top_p"] is None and sampling["max_tokens"] == 512
    assert store.conversation(conv.id).settings["sampling"]["top_k"] == 20
    assert store.setting("theme") == "light"
    settings, prompt = window.controller.engine.sampling_for(conv.id)
    # the conversation's own values win; "model default" there keeps the global value
    assert (settings.temperature, settings.top_k, settings.max_tokens) == (0.7, 20, 256)
    assert window.controller.engine.sampling_for(None)[1] == "Answer briefly."

    again = open_settings(qtbot, window)
    assert again.kind.currentData() == "remote" and again.url.text() == "http://127.0.0.1:9"
    assert again.api_key.text() == "sk-secret" and again.sampling.temperature.value() == pytest.approx(0.7)
    assert again.sampling.top_p.text() == "model default" and again.override.isChecked()
    assert again.conversation_sampling.top_k.value() == 20
    again.reject()
    qtbot.waitUntil(lambda: window.controller.bridge.state == "dead", timeout=10000)
    assert "Cannot reach the server" in window.engine_status.text()
    assert window.engine_status.restart_button.isVisible()


def test_embedded_engine_without_a_model_folder_says_what_to_do(qtbot, window, store):
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("vllm"))
    dialog.mtp.setChecked(False)
    dialog.gpu_memory.setValue(0.6)
    dialog.accept()
    assert store.setting("engine")["vllm"]["mtp"] is False
    assert store.setting("engine")["vllm"]["gpu_memory_fraction"] == 0.6
    assert "Choose the model folder" in window.engine_status.text()
    assert window.first_run.isVisible()


def test_remote_engine_answers_through_a_loopback_server(qtbot, window, store, server, memory_keyring):
    memory_keyring.set_password("mimo-desktop", server.url, "sk-test")
    store.set_setting("engine", {"kind": "remote", "remote": {"url": server.url, "model": ""}})
    store.set_setting("sampling", {"temperature": 0.3, "system_prompt": "Be kind."})
    window.controller.engine.start_from_settings()
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    assert "Ready: mimo-test" in window.engine_status.text()
    assert not window.first_run.isVisible()
    send(qtbot, window, "hello server")
    wait_idle(qtbot, window)
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert answer.text == "Hello from the server" and answer.state is MessageState.COMPLETE
    assert answer.stats.output_tokens == 4 and answer.stats.prompt_tokens == 12
    assert "Hello from the server" in window.chat.plain_text()
    body = server.requests[-1]["body"]
    assert body["temperature"] == 0.3
    assert body["messages"] == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello server"}]


def test_shortcuts_and_the_help_dialog_that_lists_them(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (asked.append(a[1]), ([], ""))[1])
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["Attach images, videos or audio"]
    window.attach_action.trigger()
    assert len(asked) == 2
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.findChild(HelpDialog)
    assert dialog is not None and dialog.isVisible()
    rows = dict(dialog.rows())
    assert rows["New chat"] == "Ctrl+N" and rows["Stop the answer"] == "Esc" and rows["Settings"] == "Ctrl+,"
    assert rows["Send the message"] == "Enter" and rows["Attach a file"] == "Ctrl+O"
    assert rows["Search conversations"] == "Ctrl+F" and rows["Keyboard shortcuts (this list)"] == "F1"
    dialog.close()


def test_dark_theme_recolours_the_window_and_the_code(qtbot, window, store):
    from mimo_desktop.core.conversation import Role

    conv = store.create_conversation("code")
    store.add_message(conv.id, Role.USER, "code please")
    store.add_message(conv.id, Role.ASSISTANT, "```python\nprint('hi')\n```")
    window.controller.open_conversation(conv.id)
    light_html = window.chat.toHtml()
    dialog = open_settings(qtbot, window)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    window_colour = QApplication.palette().color(QPalette.ColorRole.Window)
    assert window_colour.lightness() < 80
    qtbot.waitUntil(lambda: window.chat.palette().color(QPalette.ColorRole.Base).lightness() < 60)
    dark_html = window.chat.toHtml()
    assert "#272822" in dark_html.lower() and "#272822" not in light_html.lower()  # monokai background
    store.set_setting("theme", "light")
    window.controller.engine.apply_theme()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 150


def test_every_control_of_the_window_and_the_settings_has_an_accessible_name(qtbot, window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit

    def unnamed(root):
        kinds = (QAbstractButton, QLineEdit, QPlainTextEdit, QComboBox, QAbstractSpinBox)
        controls = [w for kind in kinds for w in root.findChildren(kind)
                    # Qt's own parts of a spin box or an editable combo box are named through their owner
                    if not w.objectName().startswith("qt_")
                    and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox))]
        return [w.objectName() or type(w).__name__ for w in controls
                if not (w.accessibleName() or (isinstance(w, QAbstractButton) and w.text()))
                and w.window() is root]

    dialog = open_settings(qtbot, window)
    assert unnamed(dialog) == []
    dialog.reject()
    mine = [name for name in unnamed(window) if name in (
        "conversationSearch", "newChatButton", "undoDeleteButton", "restartEngineButton", "cancelEditButton",
        "firstRunSettingsButton")]
    assert mine == []


def test_changing_the_engine_mid_answer_keeps_the_answer_as_stopped(qtbot, engine_window, store):
    from chat_helpers import send

    from mimo_desktop.core.conversation import MessageState

    send(qtbot, engine_window, "tokens=2 then=hang")
    qtbot.waitUntil(lambda: "t1" in engine_window.chat.plain_text(), timeout=10000)
    dialog = open_settings(qtbot, engine_window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText(sse_server.refused_url())
    dialog.accept()
    wait_idle(qtbot, engine_window)
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert answer.state is MessageState.STOPPED and answer.text == "t0 t1 "


def test_thinking_switch_is_saved_per_conversation(qtbot, window, store):
    conv = store.create_conversation("Think less")
    window.controller.refresh_list()
    window.controller.open_conversation(conv.id)
    dialog = open_settings(qtbot, window)
    assert dialog.sampling.thinking.currentText() == "Model default"
    dialog.override.setChecked(True)
    dialog.conversation_sampling.thinking.setCurrentIndex(
        dialog.conversation_sampling.thinking.findText("Answer directly"))
    dialog.accept()
    assert store.conversation(conv.id).settings["sampling"]["thinking"] is False
    assert window.controller.engine.sampling_for(conv.id)[0].thinking is False
    assert window.controller.engine.sampling_for(None)[0].thinking is None
    again = open_settings(qtbot, window)
    assert again.conversation_sampling.thinking.currentText() == "Answer directly"
    again.reject()


def test_test_connection_lists_the_servers_models_and_context(qtbot, window, server):
    server.max_model_len = 65536
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText(server.url)
    dialog.api_key.setText("sk-wrong")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.connection_result.text().startswith(f"The server at {server.url}/v1 refused the API key (401).")
    dialog.api_key.setText("sk-test")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.connection_result.text() == (f"Connected to {server.url}/v1. "
                                               "Models: mimo-test (context 65,536 tokens).")
    dialog.reject()


def test_test_connection_to_nothing_names_the_url_and_the_cause(qtbot, window):
    url = sse_server.refused_url()
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText(url.replace("http://", "http://bob:hunter2@"))
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_button.isEnabled(), timeout=10000)
    assert dialog.connection_result.text() == (f"Cannot reach the server at {url}/v1 (connection refused or "
                                               "no route). Is it running?")
    dialog.reject()


def test_the_context_meter_uses_the_length_the_server_reports(qtbot, window, store, server, memory_keyring):
    server.max_model_len = 65536
    memory_keyring.set_password("mimo-desktop", server.url, "sk-test")
    store.set_setting("engine", {"kind": "remote", "remote": {"url": server.url, "model": ""}})
    window.controller.engine.start_from_settings()
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    assert window.controller.bridge.info.max_context == 65536
    assert "context 65,536" in window.engine_status.text()


def test_timeouts_are_settings_the_remote_engine_uses(qtbot, window, store, server, memory_keyring):
    memory_keyring.set_password("mimo-desktop", server.url, "sk-test")
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText(server.url)
    dialog.api_key.setText("sk-test")
    dialog.first_token_timeout.setValue(7)
    dialog.token_timeout.setValue(3)
    dialog.accept()
    remote = store.setting("engine")["remote"]
    assert (remote["first_token_timeout_s"], remote["token_timeout_s"]) == (7, 3)
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    settings = window.controller.bridge._host._engine.settings
    assert (settings.first_token_timeout_s, settings.token_timeout_s) == (7, 3)


def test_a_changed_url_keeps_the_key_for_the_new_server(qtbot, window, store, server, memory_keyring):
    memory_keyring.set_password("mimo-desktop", "http://old-box:8000", "sk-test")
    store.set_setting("engine", {"kind": "remote", "remote": {"url": "http://old-box:8000", "model": ""}})
    dialog = open_settings(qtbot, window)
    assert dialog.api_key.text() == "sk-test"
    dialog.url.setText(server.url)  # only the URL changes
    dialog.accept()
    assert memory_keyring.passwords[("mimo-desktop", server.url)] == "sk-test"
    assert window.notice.text() == f"The API key is now kept for {server.url} too."
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)  # authorized: it starts
    send(qtbot, window, "hello")
    wait_idle(qtbot, window)
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-test"


def test_without_an_os_keyring_the_key_is_offered_for_the_session_never_written(
        qtbot, window, store, server, monkeypatch, mimo_home):
    import keyring
    from keyring.backends import fail
    from PySide6.QtWidgets import QMessageBox

    from mimo_desktop.engine import choice as engine_config

    monkeypatch.setattr(engine_config, "_SESSION_KEYS", {})
    keyring.set_keyring(fail.Keyring())
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda _p, _t, text: asked.append(text) or QMessageBox.StandardButton.Yes)
    dialog = open_settings(qtbot, window)
    dialog.kind.setCurrentIndex(dialog.kind.findData("remote"))
    dialog.url.setText(server.url)
    dialog.api_key.setText("sk-test")
    dialog.accept()
    assert len(asked) == 1 and "no OS keyring" in asked[0] and "MIMO_DESKTOP_API_KEY" in asked[0]
    assert "kept in memory for this session only" in window.notice.text()
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    send(qtbot, window, "hello")
    wait_idle(qtbot, window)
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-test"
    again = window.controller.open_settings()
    assert again.api_key.text() == "sk-test"
    again.api_key.setText("sk-other")
    again.accept()
    assert len(asked) == 1  # said once a session
    store.close()
    for path in mimo_home.rglob("*"):
        if path.is_file():
            assert b"sk-test" not in path.read_bytes() and b"sk-other" not in path.read_bytes(), path


def test_an_environment_key_is_used_where_no_keyring_exists(qtbot, window, store, server, monkeypatch):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("MIMO_DESKTOP_API_KEY", "sk-test")
    store.set_setting("engine", {"kind": "remote", "remote": {"url": server.url, "model": ""}})
    window.controller.engine.start_from_settings()
    qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
    dialog = open_settings(qtbot, window)
    assert dialog.api_key.text() == ""  # not shown as if typed in
    dialog.reject()


def test_a_server_that_dies_mid_answer_is_not_shown_as_ready(qtbot, window, store, memory_keyring, no_thread_leaks):
    with sse_server.FakeOpenAIServer() as srv:
        url = srv.url
        srv.mode = "stall"  # one token, then silence
        store.set_setting("engine", {"kind": "remote", "remote": {"url": url, "model": ""}})
        window.controller.engine.start_from_settings()
        qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
        send(qtbot, window, "hello")
        qtbot.waitUntil(lambda: "first" in window.chat.plain_text(), timeout=10000)
    # the server is gone: the answer fails, and the status bar follows the server, not the last state
    wait_idle(qtbot, window)
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert answer.state is MessageState.FAILED and answer.text == "first"
    qtbot.waitUntil(lambda: window.controller.bridge.state == "dead", timeout=15000)
    status = window.engine_status.text()
    assert "Ready" not in status and f"The server at {url}/v1 no longer answers (connection refused)" in status
    assert window.engine_status.restart_button.isVisible()
