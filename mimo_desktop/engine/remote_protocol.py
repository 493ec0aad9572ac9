"""The wire side of the remote engine: OpenAI's streaming chunks, the server's errors, the stream's
silences, and URLs as messages show them (never with the credentials a URL may carry)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from mimo_desktop.engine.types import API_KEY_ENV, NO_ANSWER, STOPPED_MID_ANSWER, InvalidRequest, RequestFailed
from mimo_desktop.engine.urls import redact_url

KEYRING_SERVICE = "mimo-desktop"


def _server_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return str(data)[:300]


def status_failure(status: int, body: bytes, headers: httpx.Headers, url: str) -> RequestFailed:
    detail = _server_message(body)
    if status == 401 or status == 403:
        return RequestFailed(
            f"The server at {url} refused the API key ({status}). Enter the right key in Settings "
            f"(kept in the OS keyring), or set {API_KEY_ENV} for `ask` and machines without a keyring.")
    if status == 429:
        retry = headers.get("retry-after")
        wait = f" It asks to retry after {retry} s." if retry else ""
        return RequestFailed(f"The server is busy (429 Too Many Requests).{wait} {detail}".strip())
    if status == 404:
        return RequestFailed(f"The server has no such model or endpoint (404): {detail}")
    if 400 <= status < 500:
        return InvalidRequest(f"The server refused the request ({status}): {detail}")
    return RequestFailed(f"The server failed ({status}): {detail}")


def parse_sse_line(line: str) -> dict[str, Any] | None:
    """One ``data:`` line → its JSON; None for comments, blank lines and ``[DONE]``."""
    if not line.startswith("data:"):
        return None
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise RequestFailed(f"The server sent a malformed stream chunk: {payload[:120]!r}") from exc
    if not isinstance(chunk, dict):
        raise RequestFailed(f"The server sent a malformed stream chunk: {payload[:120]!r}")
    if "error" in chunk:
        raise RequestFailed(f"The server reported an error mid-answer: {_server_message(line[5:].encode())}")
    if not well_shaped(chunk):
        raise RequestFailed(f"The server sent a stream chunk of an unexpected shape: {payload[:120]!r}")
    return chunk


def well_shaped(chunk: dict[str, Any]) -> bool:
    """OpenAI's chunk: choices a list of objects whose delta is an object of strings; usage an object."""
    choices = chunk.get("choices")
    usage = chunk.get("usage")
    if choices is not None and not isinstance(choices, list):
        return False
    if usage is not None and not isinstance(usage, dict):
        return False
    for choice in choices or []:
        if not isinstance(choice, dict):
            return False
        delta = choice.get("delta")
        if delta is not None and not isinstance(delta, dict):
            return False
        for name in ("content", "reasoning_content", "reasoning"):
            if (delta or {}).get(name) is not None and not isinstance(delta[name], str):
                return False
        if choice.get("finish_reason") is not None and not isinstance(choice["finish_reason"], str):
            return False
    return True


def count_or(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


class Deadlines:
    """The two silences a stream may keep: before its first token, and between two tokens."""

    def __init__(self, first_token_timeout_s: float, token_timeout_s: float, shown_url: str) -> None:
        self.first_token_timeout_s = first_token_timeout_s
        self.token_timeout_s = token_timeout_s
        self.url = shown_url
        self.tokens = 0
        self._deadline = time.monotonic() + first_token_timeout_s

    def token(self) -> None:
        self.tokens += 1
        self._deadline = time.monotonic() + self.token_timeout_s

    async def wait(self, awaitable: Any) -> Any:
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel (Stop) that lands as the
        # read completes, and the stream would then go on
        try:
            async with asyncio.timeout(max(0.0, self._deadline - time.monotonic())):
                return await awaitable
        except TimeoutError:
            raise RequestFailed(self.timeout_message(), kind=STOPPED_MID_ANSWER if self.tokens else NO_ANSWER,
                                tokens=self.tokens) from None

    def timeout_message(self) -> str:
        if not self.tokens:
            return (f"No answer from the server at {self.url}: nothing arrived within "
                    f"{self.first_token_timeout_s:g} s (the first-token timeout, which includes reading the "
                    "prompt). The request was abandoned.")
        return (f"The server at {self.url} stopped sending after {self.tokens} token"
                f"{'s' if self.tokens != 1 else ''}: nothing more for {self.token_timeout_s:g} s. "
                "The request was abandoned; what arrived is kept.")

    def cut_message(self) -> str:
        if not self.tokens:
            return f"The server at {self.url} closed the connection before sending any of the answer."
        return (f"The server at {self.url} closed the connection in the middle of the answer, "
                f"after {self.tokens} token{'s' if self.tokens != 1 else ''}.")
