"""Persisted engine and sampling settings, and the engine factories made from them. No Qt here.

Stored with ``store.set_setting``: key ``engine`` ({"kind": "none" | "vllm" | "remote", "vllm": {...},
"remote": {...}}) and key ``sampling``; a conversation's ``settings["sampling"]`` overrides the latter.
The remote API key lives in the OS keyring (service "mimo-desktop", account = the server URL); on a
machine without one it is kept in memory for the session (never written), or read from
$MIMO_DESKTOP_API_KEY. The remote engine (httpx) and keyring are imported only when used: not on the
start-up path.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimo_desktop.engine.protocol import EngineFactory
from mimo_desktop.engine.types import API_KEY_ENV, FIRST_TOKEN_TIMEOUT_S, TOKEN_TIMEOUT_S, SamplingSettings
from mimo_desktop.engine.urls import redact_url
from mimo_desktop.engine.vllm_errors import VLLM_MISSING
from mimo_desktop.engine.vllm_settings import SettingsError, VllmSettings

ENGINE_KEY = "engine"
SAMPLING_KEY = "sampling"

VLLM_DEFAULTS: dict[str, Any] = {
    "model_dir": "", "tensor_parallel": 0, "mtp": True, "mtp_tokens": 1, "gpu_memory_fraction": 0.85,
    "max_context": 32768, "attention_backend": "TRITON_ATTN_DIFFKV",
    "mtp_attention_backend": "TRITON_ATTN_DIFFKV", "mm_encoder_attention_backend": "TORCH_SDPA",
}
REMOTE_DEFAULTS: dict[str, Any] = {"url": "", "model": "", "first_token_timeout_s": FIRST_TOKEN_TIMEOUT_S,
                                   "token_timeout_s": TOKEN_TIMEOUT_S}
SAMPLING_DEFAULTS: dict[str, Any] = {
    "temperature": None, "top_p": None, "top_k": None, "max_tokens": 2048, "system_prompt": "",
    "thinking": None,  # None: the chat template's default; True/False: its enable_thinking switch
}


def engine_config(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The stored engine setting with every field present (older or partial settings load too)."""
    raw = raw or {}
    return {
        "kind": raw.get("kind", "none") if raw.get("kind") in ("none", "vllm", "remote") else "none",
        "vllm": {**VLLM_DEFAULTS, **(raw.get("vllm") or {})},
        "remote": {**REMOTE_DEFAULTS, **(raw.get("remote") or {})},
    }


def sampling_config(global_raw: dict[str, Any] | None, override: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = {**SAMPLING_DEFAULTS, **(global_raw or {})}
    merged.update({k: v for k, v in (override or {}).items() if k in SAMPLING_DEFAULTS and v is not None})
    return merged


def sampling_settings(config: dict[str, Any]) -> SamplingSettings:
    return SamplingSettings(
        max_tokens=int(config.get("max_tokens") or SAMPLING_DEFAULTS["max_tokens"]),
        temperature=config.get("temperature"), top_p=config.get("top_p"), top_k=config.get("top_k"),
        thinking=config.get("thinking"),
    )


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


@dataclass(frozen=True)
class EngineChoice:
    """What the settings ask for: ``factory`` is None when no engine is configured."""

    kind: str
    factory: EngineFactory | None
    description: str
    model_dir: Path | None = None


def vllm_settings(cfg: dict[str, Any]) -> VllmSettings:
    if not str(cfg.get("model_dir") or "").strip():
        raise SettingsError("Choose the model folder for the embedded engine in Settings.")
    return VllmSettings(
        model_dir=Path(cfg["model_dir"]).expanduser(),
        tensor_parallel=int(cfg["tensor_parallel"]) or None,
        mtp=bool(cfg["mtp"]), mtp_tokens=int(cfg["mtp_tokens"]),
        gpu_memory_fraction=float(cfg["gpu_memory_fraction"]),
        max_context=int(cfg["max_context"]) or None,
        attention_backend=cfg.get("attention_backend") or None,
        mtp_attention_backend=cfg.get("mtp_attention_backend") or None,
        mm_encoder_attention_backend=cfg.get("mm_encoder_attention_backend") or None,
    )


def engine_choice(raw: dict[str, Any] | None) -> EngineChoice:
    """Build the factory the settings describe. Raises SettingsError with what to change."""
    cfg = engine_config(raw)
    if cfg["kind"] == "vllm":
        if not vllm_available():
            raise SettingsError(VLLM_MISSING)
        settings = vllm_settings(cfg["vllm"])

        def make_vllm():
            from mimo_desktop.engine.vllm_engine import VllmEngine  # imports vLLM only when started

            return VllmEngine(settings)

        return EngineChoice("vllm", make_vllm, f"embedded vLLM: {settings.model_dir.name}", settings.model_dir)
    if cfg["kind"] == "remote":
        url = str(cfg["remote"]["url"]).strip()
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"The server URL must start with http:// or https://, not {redact_url(url)!r}.")
        model = str(cfg["remote"]["model"]).strip() or None
        timeouts = {"first_token_timeout_s": _seconds(cfg["remote"]["first_token_timeout_s"], FIRST_TOKEN_TIMEOUT_S),
                    "token_timeout_s": _seconds(cfg["remote"]["token_timeout_s"], TOKEN_TIMEOUT_S)}

        def make_remote():
            from mimo_desktop.engine.remote import RemoteEngine, RemoteSettings

            # read on the engine thread: the OS keyring may block on a D-Bus round trip
            return RemoteEngine(RemoteSettings(url=url, model=model, api_key=api_key_for(url), **timeouts))

        return EngineChoice("remote", make_remote, f"remote server {redact_url(url)}")
    return EngineChoice("none", None, "not configured")


def _seconds(value: Any, default: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 else default


# Keys for servers, on machines without an OS keyring, for this session only: never written anywhere.
_SESSION_KEYS: dict[str, str] = {}
NO_KEYRING = "no keyring"  # what store_api_key returns when this machine has no OS keyring


def api_key_for(url: str, *, environment: bool = True) -> str | None:
    """The key for ``url``: the OS keyring's, else the one kept for this session, else $MIMO_DESKTOP_API_KEY."""
    from mimo_desktop.engine.remote import api_key_from_keyring

    key = api_key_from_keyring(url) or _SESSION_KEYS.get(url)
    return key or (os.environ.get(API_KEY_ENV) if environment else None) or None


def keep_for_session(url: str, key: str) -> None:
    if key:
        _SESSION_KEYS[url] = key
    else:
        _SESSION_KEYS.pop(url, None)


def store_api_key(url: str, key: str) -> str | None:
    """Save (or with an empty key, delete) the server's key in the OS keyring.

    Returns None when done, NO_KEYRING when this machine has none (the caller offers the session), or
    a sentence saying what failed.
    """
    import keyring
    from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

    from mimo_desktop.engine.remote import KEYRING_SERVICE

    try:
        if key:
            keyring.set_password(KEYRING_SERVICE, url, key)
        else:
            _SESSION_KEYS.pop(url, None)
            try:
                keyring.delete_password(KEYRING_SERVICE, url)
            except PasswordDeleteError:
                pass
    except NoKeyringError:
        return NO_KEYRING if key else None
    except (KeyringError, RuntimeError) as exc:
        return f"The API key could not be saved in the OS keyring: {exc}"
    return None
