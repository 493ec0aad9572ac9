"""The engine the settings ask for (engine.choice, Qt-free): old settings still load, a bad server URL or a
missing model folder gets a sentence (never a password), and the server's key comes from the OS keyring,
the session or $MIMO_DESKTOP_API_KEY."""

from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from mimo_desktop.engine import choice
from mimo_desktop.engine.remote import RemoteEngine
from mimo_desktop.engine.types import API_KEY_ENV, FIRST_TOKEN_TIMEOUT_S
from mimo_desktop.engine.vllm_settings import SettingsError

URL = "http://gpu-box:8000/v1"


@pytest.fixture(autouse=True)
def _forget_session_keys():
    yield
    choice.keep_for_session(URL, "")


def test_an_old_partial_setting_loads_with_every_field_and_an_unknown_kind_means_no_engine():
    cfg = choice.engine_config({"kind": "vllm", "vllm": {"model_dir": "/models/MiMo"}})
    assert cfg["kind"] == "vllm"
    assert cfg["vllm"] == {**choice.VLLM_DEFAULTS, "model_dir": "/models/MiMo"}
    assert cfg["remote"] == choice.REMOTE_DEFAULTS
    assert choice.engine_config({"kind": "gpu-magic"})["kind"] == "none"
    assert choice.engine_choice(None) == choice.EngineChoice("none", None, "not configured")


def test_a_server_url_without_http_is_refused_with_a_sentence_that_hides_its_password():
    with pytest.raises(SettingsError) as err:
        choice.engine_choice({"kind": "remote", "remote": {"url": "ftp://alice:s3cret@gpu-box:8000"}})
    message = str(err.value)
    assert "must start with http:// or https://" in message
    assert "s3cret" not in message and "gpu-box:8000" in message


def test_the_embedded_engine_without_a_model_folder_says_what_to_choose():
    with pytest.raises(SettingsError, match="Choose the model folder"):
        choice.vllm_settings(choice.engine_config({"kind": "vllm"})["vllm"])


def test_embedded_settings_map_zero_to_automatic_and_expand_the_home_folder():
    cfg = {**choice.VLLM_DEFAULTS, "model_dir": "~/models/MiMo", "tensor_parallel": 0, "max_context": 0,
           "mtp_tokens": "2", "attention_backend": ""}
    settings = choice.vllm_settings(cfg)
    assert settings.model_dir == Path.home() / "models" / "MiMo"
    assert settings.tensor_parallel is None and settings.max_context is None
    assert settings.mtp_tokens == 2 and settings.attention_backend is None


def test_the_remote_engine_reads_its_key_from_the_keyring_and_bad_timeouts_fall_back(memory_keyring):
    assert choice.store_api_key(URL, "key-from-keyring") is None
    picked = choice.engine_choice({"kind": "remote", "remote": {
        "url": f"  {URL} ", "model": "", "first_token_timeout_s": "soon", "token_timeout_s": 12}})
    assert picked.kind == "remote" and picked.description == f"remote server {URL}"
    engine = picked.factory()
    assert isinstance(engine, RemoteEngine)
    assert engine.settings.url == URL and engine.settings.model is None
    assert engine.settings.api_key == "key-from-keyring"
    assert engine.settings.first_token_timeout_s == FIRST_TOKEN_TIMEOUT_S and engine.settings.token_timeout_s == 12
    assert choice.store_api_key(URL, "") is None  # an empty key deletes it
    assert choice.api_key_for(URL, environment=False) is None


def test_without_an_os_keyring_the_key_is_kept_for_the_session_else_read_from_the_environment(monkeypatch):
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert choice.store_api_key(URL, "typed-key") == choice.NO_KEYRING
        monkeypatch.setenv(API_KEY_ENV, "env-key")
        assert choice.api_key_for(URL) == "env-key"
        choice.keep_for_session(URL, "typed-key")
        assert choice.api_key_for(URL) == "typed-key"
        choice.keep_for_session(URL, "")
        assert choice.api_key_for(URL, environment=False) is None
    finally:
        keyring.set_keyring(previous)


def test_a_conversation_overrides_global_sampling_but_not_with_blanks_or_unknown_keys():
    merged = choice.sampling_config({"temperature": 0.7, "max_tokens": 512},
                                    {"temperature": 0.2, "top_p": None, "color": "red"})
    assert merged["temperature"] == 0.2 and merged["max_tokens"] == 512 and merged["top_p"] is None
    assert "color" not in merged
    settings = choice.sampling_settings({**merged, "max_tokens": 0})
    assert settings.max_tokens == choice.SAMPLING_DEFAULTS["max_tokens"] and settings.temperature == 0.2
