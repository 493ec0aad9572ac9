"""Settings and engine life on the GUI thread: start the engine the settings describe, show its
state, offer a restart, open the settings dialog and apply what it returns, and the theme."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store
from mimo_desktop.engine.types import EngineStateChanged, SamplingSettings
from mimo_desktop.engine.vllm_errors import VLLM_MISSING
from mimo_desktop.engine.vllm_settings import SettingsError

from . import engine_config as config
from .engine_bridge import EngineBridge
from .engine_config import (
    ENGINE_KEY,
    SAMPLING_KEY,
    EngineChoice,
    engine_choice,
    engine_config,
    sampling_config,
    sampling_settings,
    store_api_key,
)
from .main_window import MainWindow
from .settings_dialog import SettingsDialog, SettingsValues
from .theme import THEME_SETTING, apply_window_theme


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
        if url:
            from mimo_desktop.engine.remote import api_key_from_keyring  # httpx: only when a server is set
        return SettingsValues(
            engine=engine, sampling=sampling_config(self._setting(SAMPLING_KEY, {})),
            conversation_sampling=override, theme=self._setting(THEME_SETTING, "system"),
            api_key=(api_key_from_keyring(url) or "") if url else "")

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
        old_key = self.current_values().api_key
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
        url = values.engine["remote"]["url"]
        if url and values.api_key != old_key:
            problem = store_api_key(url, values.api_key)
            if problem:
                self.window.show_notice(problem)
        self.apply_theme()
        if engine_config(values.engine) != old_engine or values.api_key != old_key:
            self.start_from_settings()

    # ---------------------------------------------------------------- theme
    def apply_theme(self) -> None:
        apply_window_theme(self.window, self._setting(THEME_SETTING, "system"))

    def _setting(self, key: str, default: Any) -> Any:
        try:
            return self.store.setting(key, default)
        except StoreError:
            return default
