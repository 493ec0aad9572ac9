"""A real loopback HTTP server speaking OpenAI's streaming chat protocol, with faults.

``server.mode`` picks the behaviour of the next /v1/chat/completions call:
ok, reasoning, raw_tags, disconnect, malformed, error_chunk, stall, slow, 401, 429, 500, 400,
silent (accepts, never answers), stall_headers (headers, then nothing), endless (never stops),
shape (one chunk whose JSON is ``server.shape``, then a normal end).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "mimo-test"


def chunk(content: str | None = None, finish: str | None = None, reasoning: str | None = None,
          usage: dict[str, int] | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    body: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "model": MODEL,
                            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "FakeOpenAIServer"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        key = self.server.api_key
        return key is None or self.headers.get("Authorization") == f"Bearer {key}"

    def do_GET(self) -> None:
        if not self._authorized():
            return self._send_json(401, {"error": {"message": "Invalid API key"}})
        if self.path == "/metrics" and self.server.metrics:
            n = len(self.server.requests)  # counters grow with every chat request
            text = (f"# TYPE vllm:generation_tokens_total counter\n"
                    f'vllm:generation_tokens_total{{engine="0",model_name="{MODEL}"}} {40.0 * n}\n'
                    f'vllm:spec_decode_num_drafts_total{{engine="0"}} {10.0 * n}\n'
                    f'vllm:spec_decode_num_draft_tokens_total{{engine="0"}} {30.0 * n}\n'
                    f'vllm:spec_decode_num_accepted_tokens_total{{engine="0"}} {12.0 * n}\n'
                    f'vllm:kv_cache_usage_perc{{engine="0"}} 0.125\n'
                    f'vllm:num_requests_running{{engine="0"}} 1.0\n').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        if self.path == "/v1/models":
            entry = {"id": MODEL, "object": "model"}
            if self.server.max_model_len:
                entry["max_model_len"] = self.server.max_model_len  # what vLLM reports
            return self._send_json(200, {"object": "list", "data": [entry]})
        self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        if self.path == "/tokenize":  # vLLM's: how the chat template ends the prompt
            if not self.server.tokenize:
                return self._send_json(404, {"error": {"message": "not found"}})
            ending = ["<|im_start|>", "assistant", "Ċ"] + (["<think>", "Ċ"] if self.server.opens_thinking else [])
            return self._send_json(200, {"count": 9, "max_model_len": 4096, "tokens": list(range(9)),
                                         "token_strs": ["<|im_start|>", "user", "Ċ", "hi", "<|im_end|>", *ending]})
        self.server.requests.append({"body": body, "headers": dict(self.headers)})
        if not self._authorized():
            return self._send_json(401, {"error": {"message": "Invalid API key"}})
        mode = self.server.mode
        if mode == "silent":  # read the request, then never send a byte
            self.server.release.wait(30)
            return
        if mode == "429":
            return self._send_json(429, {"error": {"message": "Rate limit reached"}}, {"Retry-After": "7"})
        if mode == "500":
            return self._send_json(500, {"error": {"message": "CUDA error: an illegal memory access"}})
        if mode == "400":
            return self._send_json(400, {"error": {"message": "max_tokens is too large: 99999"}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            getattr(self, f"_stream_{mode}")()
        except (BrokenPipeError, ConnectionResetError):
            self.server.client_gone.set()

    def _write(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, body: dict[str, Any] | str) -> None:
        payload = body if isinstance(body, str) else json.dumps(body)
        self._write(f"data: {payload}\n\n")

    def _end(self) -> None:
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stream_ok(self) -> None:
        for word in ("Hello", " from", " the", " server"):
            self._event(chunk(word))
        self._event(chunk(finish="stop"))
        self._event(chunk(usage={"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}))
        self._end()

    def _stream_reasoning(self) -> None:
        self._write(": keep-alive comment\n\n")
        self._event(chunk(reasoning="Let me think."))
        self._event(chunk("Answer."))
        self._event(chunk(finish="length"))
        self._end()  # no usage: the client counts deltas

    def _stream_raw_tags(self) -> None:
        """A server without a reasoning parser: tags in the content, cut anywhere, even mid-character."""
        self._event(chunk("<thi"))
        self._event(chunk("nk>Das ist ein Hund "))
        # one event whose bytes arrive in two transfer chunks, cut inside the 🐕 (4 UTF-8 bytes)
        data = f"data: {json.dumps(chunk('🐕</th'), ensure_ascii=False)}\n\n".encode()
        cut = data.index("🐕".encode()) + 2
        for part in (data[:cut], data[cut:]):
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.flush()
        self._event(chunk("ink>Ein Hund."))
        self._event(chunk(finish="stop"))
        self._end()

    def _stream_implicit_thinking(self) -> None:
        """No reasoning parser, a template that opened <think>: thinking, then only the closing tag."""
        for text in ("Let me think", ".</thi", "nk>\n\nThe answer is 4."):
            self._event(chunk(text))
        self._event(chunk(finish="stop"))
        self._end()

    def _stream_compact(self) -> None:
        """SSE without the optional space after "data:", and no finish_reason: [DONE] alone ends it."""
        for word in ("Compact", " answer"):
            self._write(f"data:{json.dumps(chunk(word))}\n\n")
        self._write("data:[DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stream_disconnect(self) -> None:
        self._event(chunk("partial"))
        self._event(chunk(" answer"))
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _stream_malformed(self) -> None:
        self._event(chunk("ok"))
        self._write("data: {\"choices\": [oops\n\n")
        self._end()

    def _stream_error_chunk(self) -> None:
        self._event(chunk("ok"))
        self._event({"error": {"message": "The engine died", "code": 500}})
        self._end()

    def _stream_stall(self) -> None:
        self._event(chunk("first"))
        self.server.release.wait(30)

    def _stream_stall_headers(self) -> None:
        self.server.release.wait(30)

    def _stream_endless(self) -> None:
        i = 0
        while not self.server.release.is_set():
            self._event(chunk(f"e{i} "))
            i += 1
            time.sleep(0.001)

    def _stream_shape(self) -> None:
        self._event(chunk("ok"))
        self._write(f"data: {self.server.shape}\n\n")
        self._event(chunk(finish="stop"))
        self._end()

    def _stream_slow(self) -> None:
        for i in range(2000):
            self._event(chunk(f"w{i} "))
            time.sleep(0.01)
        self._end()


class FakeOpenAIServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.api_key = api_key
        self.metrics = False  # serve vLLM-style Prometheus /metrics
        self.tokenize = False  # serve vLLM-style /tokenize
        self.opens_thinking = False  # ... for a chat template that writes "<think>" itself
        self.mode = "ok"
        self.max_model_len: int | None = None  # listed in /v1/models, as vLLM does
        self.shape = "{}"  # the odd chunk of mode "shape"
        self.requests: list[dict[str, Any]] = []
        self.client_gone = threading.Event()
        self.release = threading.Event()
        self.connections: set[socket.socket] = set()
        self._thread = threading.Thread(target=self.serve_forever, name="fake-openai", daemon=True)

    def handle_error(self, request, client_address) -> None:
        """A client hanging up (cancel, stall, shutdown) is what many tests do on purpose: not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
        for conn in list(self.connections):  # kept-alive connections die with the server
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


def refused_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
