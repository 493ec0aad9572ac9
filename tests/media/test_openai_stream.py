"""Data URLs for a remote server stream into the request body from the file, with an exact length.

A real loopback HTTP server (http.server, which reads exactly Content-Length bytes) receives the
body that httpx sends from ``json_request_content``; what it parses must be the file, byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest

from mimo_desktop.media import openai_parts
from mimo_desktop.media.openai_parts import DataUrl, json_length, json_pieces, json_request_content


def test_json_pieces_equal_json_dumps_of_the_built_urls(tmp_path):
    clip = tmp_path / "clip.bin"
    clip.write_bytes(bytes(range(256)) * 40_000 + b"tail")  # 10 MB: several 3 MiB pieces, an odd end
    url = openai_parts.original_url("video/mp4", clip, None)
    body = {"messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": url}},
        {"type": "text", "text": 'say "hi" \u00e9 mimo-stream-0'}]}], "stream": True}

    streamed = b"".join(json_pieces(body))
    expected = json.dumps({"messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": str(url)}},
        {"type": "text", "text": 'say "hi" \u00e9 mimo-stream-0'}]}], "stream": True}).encode()
    assert streamed == expected
    assert json_length(body)[0] == len(expected) and len(url) == len(str(url))


def test_wav_of_the_decoded_sound_streams_in_pieces_that_join_up():
    mono = (np.sin(np.arange(24000 * 5) / 7.0) * 0.5).astype(np.float32)
    url = openai_parts.audio_part(None, None, "ogg", mono, 24000)["input_audio"]["data"]
    data = base64.b64decode(str(url))
    assert len(str(url)) == len(url)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (24000, 1, len(mono))
        pcm = np.frombuffer(w.readframes(len(mono)), "<i2")
    assert np.abs(pcm / 32767.0 - mono).max() < 1e-4


class _Echo(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        self.received.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_loopback_server_receives_the_file_byte_for_byte(tmp_path, echo_server):
    clip = tmp_path / "clip.mp4"
    original = np.random.default_rng(3).integers(0, 256, 7 * 1024 * 1024 + 5, dtype=np.uint8).tobytes()
    clip.write_bytes(original)
    body = {"model": "m", "messages": [{"role": "user", "content": [
        openai_parts.video_part("video/mp4", clip, None), {"type": "text", "text": "what happens?"}]}]}

    async def send() -> int:
        headers, content = await json_request_content(body)
        async with httpx.AsyncClient() as client:
            response = await client.post(echo_server + "/v1/chat/completions", content=content, headers=headers)
        return response.status_code

    assert asyncio.run(send()) == 200
    received = json.loads(_Echo.received[0])
    url = received["messages"][0]["content"][0]["video_url"]["url"]
    assert url.startswith("data:video/mp4;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == original
    assert received["messages"][0]["content"][1]["text"] == "what happens?"


def test_small_urls_read_like_strings():
    url = DataUrl("image/png", 3, openai_parts.bytes_pieces(b"abc"))
    assert url.startswith("data:image/png") and str(url) == "data:image/png;base64,YWJj"
