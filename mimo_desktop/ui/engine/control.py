"""Settings and engine life on the GUI thread: start the engine the settings describe, show its
state, offer a restart, open the settings dialog and apply what it returns, and the theme."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store
from mimo_desktop.engine import choice as config
from mimo_desktop.engine.choice import (
    ENGINE_KEY,
    SAMPLING_KEY,
    EngineChoice,
    engine_choice,
    engine_config,
    sampling_config,
    sampling_settings,
    store_api_key,
)
from mimo_desktop.engine.types import API_KEY_ENV, EngineStateChanged, SamplingSettings
from mimo_desktop.engine.vllm_errors import VLLM_MISSING
from mimo_desktop.engine.vllm_settings import SettingsError

from .bridge import EngineBridge
from ..window.main import MainWindow
from ..settings.dialog import SettingsDialog, SettingsValues
from ..window.theme import THEME_SETTING, apply_window_theme


class EngineControl(QObject):
    engineReady = Signal()  # the context length may have changed
    engineReplacing = Signal()  # the running engine is about to be shut down for another one

    def __init__(self, store: Store, window: MainWindow, bridge: EngineBridge,
                 current_conversation: Callable[[], int | None]) -> None:
        super().__init__(window)
        self.store = store
        self.window = window
        self.bridge = bridge
        self._current_conversation = current_conversation
        self.choice = EngineChoice("none", None, "not configured")
        self.tick_s = 1.0
        self._asked_session_key = False
        self._session_keys_allowed = False
        bridge.engineStateChanged.connect(self._on_state)
        bridge.statsChanged.connect(window.engine_status.show_stats)
        window.engine_status.restartRequested.connect(self.restart)

    # --------------------------------------------------------------- engine
    @property
    def configured(self) -> bool:
        return self.bridge.configured

    def start_from_settings(self) -> None:
        """(Re)start the engine the stored settings describe, or show how to configure one."""
        if self.bridge.configured:
            self.engineReplacing.emit()
        self.bridge.shutdown()
        self.window.first_run.set_vllm_missing("" if config.vllm_available() else
                                               "This installation has no vLLM. " + VLLM_MISSING)
        try:
            self.choice = engine_choice(self._setting(ENGINE_KEY, {}))
        except SettingsError as exc:
            self.choice = EngineChoice("none", None, "not configured")
            self.window.engine_status.show_problem(str(exc))
            self.window.first_run.show()
            return
        self._set_model_dir()
        if self.choice.factory is None:
            self.window.engine_status.show_not_configured()
            self.window.first_run.show()
            return
        self.window.first_run.hide()
        self.window.engine_status.show_state(EngineStateChanged("starting", stage="starting"), None)
        self.bridge.start(self.choice.factory, tick_s=self.tick_s)

    def start_with(self, choice: EngineChoice) -> None:
        """Start a given engine, bypassing the settings (the benchmark and tests use a scripted one)."""
        if self.bridge.configured:
            self.engineReplacing.emit()
        self.bridge.shutdown()
        self.choice = choice
        self._set_model_dir()
        self.window.first_run.hide()
        self.bridge.start(choice.factory, tick_s=self.tick_s)

    @Slot()
    def restart(self) -> None:
        if self.bridge.configured:
            self.bridge.restart()
        else:
            self.start_from_settings()

    @Slot(object)
    def _on_state(self, event: EngineStateChanged) -> None:
        self.window.engine_status.show_state(event, self.bridge.info)
        if event.state == "ready":
            self.engineReady.emit()

    def _set_model_dir(self) -> None:
        set_dir = getattr(self.window.composer, "set_model_dir", None)  # which media config prices attachments
        if set_dir is not None:
            set_dir(self.choice.model_dir)

    # ------------------------------------------------------------- sampling
    def sampling_for(self, conversation_id: int | None) -> tuple[SamplingSettings, str]:
        override = None
        if conversation_id is not None:
            try:
                override = self.store.conversation(conversation_id).settings.get("sampling")
            except StoreError:
                override = None
        cfg = sampling_config(self._setting(SAMPLING_KEY, {}), override)
        return sampling_settings(cfg), cfg.get("system_prompt") or ""

    # ------------------------------------------------------------- settings
    def current_values(self) -> SettingsValues:
        engine = engine_config(self._setting(ENGINE_KEY, {}))
        conv_id = self._current_conversation()
        override = None
        if conv_id is not None:
            try:
                override = self.store.conversation(conv_id).settings.get("sampling")
            except StoreError:
                override = None
        url = engine["remote"]["url"]
        return SettingsValues(
            engine=engine, sampling=sampling_config(self._setting(SAMPLING_KEY, {})),
            conversation_sampling=override, theme=self._setting(THEME_SETTING, "system"),
            api_key=self._key_for(url))

    @staticmethod
    def _key_for(url: str) -> str:
        # the environment's key is not shown (nor saved) as if typed in: only a keyring's or this session's
        return (config.api_key_for(url, environment=False) or "") if url else ""

    @Slot()
    def open_settings(self) -> SettingsDialog:
        conv_id = self._current_conversation()
        title = None
        if conv_id is not None:
            try:
                title = self.store.conversation(conv_id).title or "New conversation"
            except StoreError:
                title = None
        note = "" if config.vllm_available() else VLLM_MISSING
        dialog = SettingsDialog(self.current_values(), conversation_title=title, vllm_note=note, parent=self.window)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.values()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def apply_settings(self, values: SettingsValues) -> None:
        old_engine = engine_config(self._setting(ENGINE_KEY, {}))
        url = values.engine["remote"]["url"]
        # compared with the key the *new* URL has: a changed URL takes the key in the field along
        old_key = self._key_for(url)
        try:
            self.store.set_setting(ENGINE_KEY, values.engine)
            self.store.set_setting(SAMPLING_KEY, values.sampling)
            self.store.set_setting(THEME_SETTING, values.theme)
            conv_id = self._current_conversation()
            if conv_id is not None:
                settings = dict(self.store.conversation(conv_id).settings)
                settings.pop("sampling", None)
                if values.conversation_sampling is not None:
                    settings["sampling"] = values.conversation_sampling
                self.store.set_conversation_settings(conv_id, settings)
        except StoreError as exc:
            self.window.show_notice(str(exc))
            return
        if url and values.api_key != old_key:
            self._save_key(url, values.api_key, moved=url != old_engine["remote"]["url"])
        self.apply_theme()
        if engine_config(values.engine) != old_engine or values.api_key != old_key:
            self.start_from_settings()

    def _save_key(self, url: str, key: str, *, moved: bool) -> None:
        problem = store_api_key(url, key)
        if problem == config.NO_KEYRING:
            problem = self._offer_session_key(url, key)
        elif problem is None and moved and key:
            from mimo_desktop.engine.urls import redact_url

            problem = f"The API key is now kept for {redact_url(url)} too."
        if problem:
            self.window.show_notice(problem)

    def _offer_session_key(self, url: str, key: str) -> str:
        """No OS keyring here: say so (once a session) and offer to keep the key in memory only."""
        from PySide6.QtWidgets import QMessageBox

        if not self._asked_session_key:
            self._asked_session_key = True
            answer = QMessageBox.question(
                self.window, "API key",
                "This computer has no OS keyring (Secret Service), so the API key cannot be saved, and "
                "MiMo Desktop never writes it to a file.\n\nKeep it in memory until MiMo Desktop closes? "
                f"(To use a key in every session, start MiMo Desktop with {API_KEY_ENV} set.)")
            self._session_keys_allowed = answer == QMessageBox.StandardButton.Yes
        if self._session_keys_allowed:
            config.keep_for_session(url, key)
            return f"The API key is kept in memory for this session only (no OS keyring here); set {API_KEY_ENV} to keep one."
        return f"The API key was not kept (no OS keyring here): requests go without it. Set {API_KEY_ENV} to use one."

    # ---------------------------------------------------------------- theme
    def apply_theme(self) -> None:
        apply_window_theme(self.window, self._setting(THEME_SETTING, "system"))

    def _setting(self, key: str, default: Any) -> Any:
        try:
            return self.store.setting(key, default)
        except StoreError:
            return default
