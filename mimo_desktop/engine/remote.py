"""The remote engine: an OpenAI-compatible server (vLLM, SGLang) over HTTP.

``POST /v1/chat/completions`` with ``stream: true`` and
``stream_options.include_usage``; attachments go as the media layer's
``openai_part`` content parts. Cancelling the task that iterates
``generate`` closes the stream, which makes vLLM's server abort the request.
The API key comes from the OS keyring and is never logged or put in reprs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from mimo_desktop.engine.reasoning import ReasoningSplitter
from mimo_desktop.engine.protocol import StageCallback, StatsCallback
from mimo_desktop.engine.remote_metrics import Scrape, parse_metrics, stats_between
from mimo_desktop.engine.remote_protocol import (
    KEYRING_SERVICE,
    Deadlines,
    count_or,
    parse_sse_line,
    status_failure,
)
from mimo_desktop.engine.types import (
    FIRST_TOKEN_TIMEOUT_S,
    NO_ANSWER,
    STOPPED_MID_ANSWER,
    TOKEN_TIMEOUT_S,
    UNREACHABLE,
    EngineDied,
    EngineInfo,
    Finished,
    GenerationRequest,
    RequestFailed,
    TextDelta,
)
from mimo_desktop.engine.urls import redact_url

log = logging.getLogger(__name__)



def api_key_from_keyring(account: str) -> str | None:
    """The key stored for ``account`` (e.g. the server URL), or None."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, account)
    except (KeyringError, RuntimeError) as exc:
        log.warning("no API key read from the OS keyring: %s", type(exc).__name__)
        return None


@dataclass(frozen=True)
class RemoteSettings:
    url: str  # the server, e.g. http://gpu-box:8000 (a trailing /v1 is fine)
    model: str | None = None  # None: the first model the server lists
    api_key: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 5.0
    # From sending the request to the first token: the server reads the request (base64 media),
    # queues it and processes the prompt. A 32k-token prompt with a long video prefills in well under
    # 30 s on the GPUs MiMo-V2.5 needs; 60 s leaves room for a queue without waiting on a dead server.
    first_token_timeout_s: float = FIRST_TOKEN_TIMEOUT_S
    # Between two tokens of a running answer: a decode step takes milliseconds (even a preempted and
    # recomputed request resumes within seconds), so 30 s of silence is a stalled server.
    token_timeout_s: float = TOKEN_TIMEOUT_S
    metrics_interval_s: float | None = 2.0  # scrape the server's /metrics; None: never

    @property
    def base_url(self) -> str:
        url = self.url.rstrip("/")
        return url if url.endswith("/v1") else url + "/v1"

    @property
    def shown_url(self) -> str:
        """The base URL as messages show it: never with the user:password@ it may carry."""
        return redact_url(self.base_url)


def build_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system_prompt:
        messages.append({"role": "system", "content": request.system_prompt})
    for turn in request.turns:
        if not turn.attachments:
            message: dict[str, Any] = {"role": turn.role, "content": turn.text}
        else:
            # a LazyPart builds its data URL now; a video's sound goes as its own input_audio part
            parts = [dict(part.openai_part) for item in turn.attachments for part in item.items()]
            if turn.text:
                parts.append({"type": "text", "text": turn.text})
            message = {"role": turn.role, "content": parts}
        if turn.role == "assistant" and turn.reasoning:
            # MiMo's own API rejects thinking-mode history without it (Chatbox #3716); vLLM servers
            # hand it to the chat template, which keeps or drops it as the model was trained.
            message["reasoning_content"] = turn.reasoning
        messages.append(message)
    return messages


def build_body(request: GenerationRequest, model: str) -> dict[str, Any]:
    s = request.sampling
    body: dict[str, Any] = {
        "model": model, "messages": build_messages(request), "stream": True,
        "stream_options": {"include_usage": True}, "max_tokens": s.max_tokens,
    }
    # unset values are left to the server, which applies the model's generation_config
    optional = {"temperature": s.temperature, "top_p": s.top_p, "top_k": s.top_k,
                "repetition_penalty": s.repetition_penalty, "seed": s.seed}
    body.update({k: v for k, v in optional.items() if v is not None})
    if s.ignore_eos:
        body["ignore_eos"] = True
    if s.thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": s.thinking}
    return body


HEALTH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ServerModel:
    id: str
    max_model_len: int | None = None  # vLLM reports the context length it serves


def server_models(response: httpx.Response) -> list[ServerModel]:
    """The models a /v1/models answer lists (any odd shape: none)."""
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        return []
    models = []
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            models.append(ServerModel(entry["id"], count_or(entry.get("max_model_len"), None) or None))
    return models


@dataclass(frozen=True)
class Probe:
    """What "Test connection" found: the models the server lists, or why it could not tell."""

    ok: bool
    message: str
    models: tuple[ServerModel, ...] = ()


def probe_server(url: str, api_key: str | None, *, timeout_s: float = 5.0) -> Probe:
    """Ask the server for /v1/models, synchronously (run it off the GUI thread)."""
    settings = RemoteSettings(url=url, api_key=api_key, connect_timeout_s=timeout_s)
    shown = settings.shown_url
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(settings.base_url + "/models", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return Probe(False, RemoteEngine(settings)._transport_message(exc))
    except ValueError as exc:  # httpx.InvalidURL and friends
        return Probe(False, f"{redact_url(url)} is not a server URL: {redact_url(str(exc))}")
    if response.status_code != 200:
        return Probe(False, str(status_failure(response.status_code, response.content, response.headers, shown)))
    models = tuple(server_models(response))
    if not models:
        return Probe(True, f"Connected to {shown}, which lists no model: type the model's name.")
    listed = ", ".join(m.id + (f" (context {m.max_model_len:,} tokens)" if m.max_model_len else "") for m in models)
    return Probe(True, f"Connected to {shown}. Models: {listed}.", models)


class RemoteEngine:
    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None
        self._model = settings.model
        self._metrics_task: asyncio.Task[None] | None = None
        # The server's chat template writes "<think>" itself (MiMo's, with thinking on): a server without
        # a reasoning parser then streams thinking as content that only *ends* with "</think>".
        self._template_opens_thinking = False
        self._max_context: int | None = None  # vLLM's /v1/models says max_model_len

    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def start(self, on_stage: StageCallback, on_stats: StatsCallback) -> EngineInfo:
        s = self.settings
        timeout = httpx.Timeout(s.first_token_timeout_s, connect=s.connect_timeout_s)
        self._client = httpx.AsyncClient(base_url=s.base_url, timeout=timeout, headers=self._headers())
        on_stage(f"connecting to {s.shown_url}")
        try:
            response = await self._client.get("/models")
        except httpx.HTTPError as exc:
            await self.shutdown()
            raise EngineDied(self._transport_message(exc)) from exc
        if response.status_code != 200:
            if self._model and response.status_code == 404:
                self._start_metrics(on_stats)
                return self._info()  # servers without /v1/models still chat
            await self.shutdown()
            raise EngineDied(str(status_failure(response.status_code, response.content,
                                                response.headers, s.shown_url)))
        models = server_models(response)
        if not self._model:
            if not models:
                await self.shutdown()
                raise EngineDied(f"The server at {s.shown_url} lists no model; name one in Settings (or --remote-model).")
            self._model = models[0].id
        self._max_context = next((m.max_model_len for m in models if m.id == self._model), None)
        self._template_opens_thinking = await self._probe_template()
        self._start_metrics(on_stats)
        return self._info()

    async def _probe_template(self) -> bool:
        """Ask a vLLM server's /tokenize how its template ends the prompt; other servers: assume not."""
        assert self._client is not None
        root = self.settings.base_url.removesuffix("/v1")
        probe = {"model": self._model, "messages": [{"role": "user", "content": "hi"}],
                 "add_generation_prompt": True, "return_token_strs": True}
        try:
            response = await self._client.post(root + "/tokenize", json=probe)
            strs = response.json().get("token_strs") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
        if not isinstance(strs, list):
            return False
        tail = "".join(str(t) for t in strs[-3:]).replace("Ċ", "").strip()  # Ċ: byte-level BPE's newline
        return tail.endswith("<think>")

    def _start_metrics(self, on_stats: StatsCallback) -> None:
        if self.settings.metrics_interval_s:
            self._metrics_task = asyncio.get_running_loop().create_task(self._poll_metrics(on_stats))

    async def _scrape(self) -> Scrape | None:
        assert self._client is not None
        root = self.settings.base_url.removesuffix("/v1")
        try:
            response = await self._client.get(root + "/metrics")
        except httpx.HTTPError:
            return None
        values = parse_metrics(response.text) if response.status_code == 200 else {}
        return Scrape(time.monotonic(), values) if values else None

    async def _poll_metrics(self, on_stats: StatsCallback) -> None:
        """Server-side figures while connected; stops quietly where the server has none."""
        before = await self._scrape()
        while before is not None:
            await asyncio.sleep(self.settings.metrics_interval_s or 2.0)
            after = await self._scrape()
            if after is None:
                return
            on_stats(stats_between(before, after))
            before = after

    def _info(self) -> EngineInfo:
        return EngineInfo(name=f"{self._model} @ {self.settings.shown_url}", max_context=self._max_context,
                          modalities=("text", "image", "video", "audio"))

    def _transport_message(self, exc: httpx.HTTPError) -> str:
        url = self.settings.shown_url
        if isinstance(exc, httpx.ConnectError):
            return f"Cannot reach the server at {url} (connection refused or no route). Is it running?"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"The server at {url} did not accept a connection within {self.settings.connect_timeout_s} s."
        if isinstance(exc, httpx.TimeoutException):
            return f"The server at {url} did not answer in time ({type(exc).__name__}); the request was abandoned."
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return f"The server at {url} closed the connection in the middle of the answer."
        return f"Talking to the server at {url} failed: {type(exc).__name__}: {redact_url(str(exc))}"

    async def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | Finished]:
        if self._client is None or self._model is None:
            raise EngineDied("The remote engine is not connected. Start it first.")
        # Data URLs of large media stream into the body from their files, a few MiB at a time on a
        # worker thread: never built whole in memory, and the loop keeps serving other streams.
        from mimo_desktop.media.openai_parts import json_request_content  # numpy: not on the start-up path

        headers, payload = await json_request_content(build_body(request, self._model))
        s = self.settings
        # The first-token and between-token limits are ours (below); httpx only bounds the connection.
        http_request = self._client.build_request(
            "POST", "/chat/completions", content=payload, headers=headers,
            timeout=httpx.Timeout(None, connect=s.connect_timeout_s))
        stream = Deadlines(s.first_token_timeout_s, s.token_timeout_s, s.shown_url)
        try:
            response = await stream.wait(self._client.send(http_request, stream=True))
            try:
                if response.status_code != 200:
                    content = await stream.wait(response.aread())
                    raise status_failure(response.status_code, content, response.headers, s.shown_url)
                async for event in self._read_stream(request, response, stream):
                    yield event
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            kind = UNREACHABLE if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) else ""
            raise RequestFailed(self._transport_message(exc), kind=kind, tokens=stream.tokens) from exc

    async def _read_stream(self, request: GenerationRequest, response: httpx.Response,
                           stream: Deadlines) -> AsyncIterator[TextDelta | Finished]:
        rid = request.request_id
        limit = request.sampling.max_tokens
        reason: str | None = None
        usage: dict[str, Any] = {}
        done = False
        # A server without a reasoning parser sends the tags in the content: split them here.
        raw_tags = ReasoningSplitter(start_in_reasoning=self._template_opens_thinking
                                     and request.sampling.thinking is not False)
        lines = response.aiter_lines()
        while True:
            try:
                line = await stream.wait(anext(lines))
            except StopAsyncIteration:
                break
            if line.startswith("data:") and line[5:].strip() == "[DONE]":  # the space is optional in SSE
                done = True
                break
            chunk = parse_sse_line(line)
            if chunk is None:
                continue
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                thinking = delta.get("reasoning_content") or delta.get("reasoning")
                content = delta.get("content")
                if (thinking or content) and stream.tokens >= limit:
                    # the server ignores max_tokens (or never ends): the client enforces it
                    reason, done = "length", True
                    break
                if thinking:
                    stream.token()
                    if raw_tags.in_reasoning and not raw_tags.reasoning_chars:
                        # the server parses reasoning itself: its content will be the answer
                        raw_tags = ReasoningSplitter(start_in_reasoning=False)
                    yield TextDelta(rid, thinking, 1, reasoning=True)
                if content:
                    stream.token()
                    pieces = raw_tags.feed(content)
                    for i, piece in enumerate(pieces):
                        yield TextDelta(rid, piece.text, 1 if i == 0 else 0, piece.reasoning)
                    if not pieces:  # held back whole (maybe half a tag): still one token for the live rate
                        yield TextDelta(rid, "", 1)
                reason = choice.get("finish_reason") or reason
            if reason == "length" and done:
                break
        for piece in raw_tags.finish():
            yield TextDelta(rid, piece.text, 0, piece.reasoning)
        if not done and reason is None:
            raise RequestFailed(stream.cut_message(), kind=STOPPED_MID_ANSWER if stream.tokens else NO_ANSWER,
                                tokens=stream.tokens)
        output = count_or(usage.get("completion_tokens"), stream.tokens)
        yield Finished(rid, reason or "stop", count_or(usage.get("prompt_tokens"), None),
                       min(output, limit) if reason == "length" else output, None, None)

    async def check_health(self) -> None:
        """The status bar follows the server: one that no longer accepts connections is reported dead
        (Restart reconnects once it is back). A slow or busy server is alive: only refusals count."""
        if self._client is None:
            return
        timeout = httpx.Timeout(HEALTH_TIMEOUT_S, connect=self.settings.connect_timeout_s)
        for attempt in range(2):  # a kept-alive connection the server dropped fails once: retry fresh
            try:
                await self._client.get("/models", timeout=timeout)
                return
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise EngineDied(self._gone_message(exc)) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt:
                    raise EngineDied(self._gone_message(exc)) from exc
            except httpx.HTTPError:
                return  # timed out or refused the request: busy, not gone

    def _gone_message(self, exc: httpx.HTTPError) -> str:
        cause = ("connection refused" if isinstance(exc, httpx.ConnectError) else
                 f"no connection within {self.settings.connect_timeout_s:g} s"
                 if isinstance(exc, httpx.ConnectTimeout) else "the connection dropped")
        return (f"The server at {self.settings.shown_url} no longer answers ({cause}). "
                "Restart the engine once it is back.")

    async def abort(self, request_id: str) -> None:
        """Nothing to send: cancelling generate's task closes the stream, the server aborts."""

    async def shutdown(self) -> None:
        task, self._metrics_task = self._metrics_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
