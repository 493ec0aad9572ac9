"""OpenAI chat content parts with data URLs, for a remote OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import struct
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Formats a server can be expected to decode as sent; anything else is re-encoded.
_PASS_THROUGH_IMAGES = {"jpeg", "png", "webp", "gif"}
_PASS_THROUGH_AUDIO = {"wav", "mp3"}  # the two formats OpenAI's input_audio names


class LazyPart(Mapping[str, Any]):
    """A content part built the first time it is read.

    Only a remote server needs data URLs; base64 of a 100 MB clip costs a quarter of a second of
    GIL-holding work (a stall the GUI can feel while a file is prepared in the background) and a third
    more memory for every attachment in the history. The embedded engine never reads it.
    """

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build: Callable[[], dict[str, Any]] | None = build
        self._part: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._part is not None

    def _value(self) -> dict[str, Any]:
        with self._lock:
            if self._part is None:
                assert self._build is not None
                self._part, self._build = self._build(), None
            return self._part

    def __getitem__(self, key: str) -> Any:
        return self._value()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def __repr__(self) -> str:
        return f"LazyPart({'built' if self.built else 'not built'})"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# Read and encoded at a time when a data URL streams: a multiple of 3, so the pieces join up.
_STREAM_BYTES = 3 * 1024 * 1024


class DataUrl:
    """A data URL whose text is produced piece by piece, never whole: a 1 GiB clip is 1.4 GB of base64.

    ``chunks`` yields its text (``data:MIME;base64,`` then the base64 in 4 MiB pieces) from
    ``read_pieces``, a function returning an iterator of raw byte pieces whose lengths, but the last,
    are multiples of 3 and that add up to ``size``. ``str(url)`` builds it whole (small files, tests).
    """

    def __init__(self, mime: str, size: int, read_pieces: Callable[[], Iterator[bytes]]) -> None:
        self.mime, self.size, self._read = mime, size, read_pieces

    @property
    def prefix(self) -> str:
        return f"data:{self.mime};base64,"

    def __len__(self) -> int:
        """Characters of the URL: known before a byte is read, so the request can say its length."""
        return len(self.prefix) + 4 * ((self.size + 2) // 3)

    def chunks(self) -> Iterator[str]:
        yield self.prefix
        for piece in self._read():
            yield _b64(piece)

    def __str__(self) -> str:
        return "".join(self.chunks())

    def startswith(self, text: str) -> bool:
        return self.prefix.startswith(text) if len(text) <= len(self.prefix) else str(self).startswith(text)

    def __repr__(self) -> str:
        return f"DataUrl({self.mime}, {self.size} bytes)"


def file_pieces(path: Path) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        with open(path, "rb") as f:
            while piece := f.read(_STREAM_BYTES):
                yield piece
    return read


def bytes_pieces(data: bytes) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        view = memoryview(data)
        for i in range(0, len(view), _STREAM_BYTES):
            yield bytes(view[i:i + _STREAM_BYTES])
    return read


def original_url(mime: str, path: Path | None, data: bytes | None) -> DataUrl:
    """The file itself as a data URL, read from disk while the request is sent (or from ``data``)."""
    if path is not None:
        return DataUrl(mime, path.stat().st_size, file_pieces(path))
    assert data is not None
    return DataUrl(mime, len(data), bytes_pieces(data))


def image_part(original: bytes, fmt: str, mime: str, rgb: Image.Image, upright: bool) -> dict[str, Any]:
    """The original bytes when a server reads them as we did; else lossless PNG of what we measured.

    "As we did" means: a common format, already upright (no EXIF rotation to
    apply) and already plain RGB; otherwise the server might see a different size.
    """
    if fmt in _PASS_THROUGH_IMAGES and upright and fmt != "gif":
        data, mime_out = original, mime
    else:
        buffer = io.BytesIO()
        rgb.save(buffer, format="PNG", optimize=False, compress_level=3)
        data, mime_out = buffer.getvalue(), "image/png"
    return {"type": "image_url", "image_url": {"url": f"data:{mime_out};base64,{_b64(data)}"}}


def video_part(mime: str, path: Path | None, data: bytes | None) -> dict[str, Any]:
    return {"type": "video_url", "video_url": {"url": original_url(mime, path, data)}}


def audio_part(path: Path | None, original: bytes | None, fmt: str, mono: np.ndarray, rate: int) -> dict[str, Any]:
    """``input_audio`` with the original WAV/MP3, or a 16-bit WAV of the decoded mono signal.

    Both stream: the WAV is written a few seconds of samples at a time while the request is sent.
    """
    if (path is not None or original is not None) and fmt in _PASS_THROUGH_AUDIO:
        url, out_fmt = original_url("audio/" + fmt, path, original), fmt
    else:
        url, out_fmt = DataUrl("audio/wav", 44 + 2 * len(mono), wav_pieces(mono, rate)), "wav"
    # input_audio's data is plain base64, not a URL: the prefix is dropped by ``Base64Only``
    return {"type": "input_audio", "input_audio": {"data": Base64Only(url), "format": out_fmt}}


class Base64Only(DataUrl):
    """The base64 text of a ``DataUrl`` without its ``data:…;base64,`` prefix."""

    def __init__(self, url: DataUrl) -> None:
        super().__init__(url.mime, url.size, url._read)

    @property
    def prefix(self) -> str:
        return ""


def _wav_header(samples: int, rate: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV of ``samples`` samples (written before them)."""
    data = 2 * samples
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16) + b"data" + struct.pack("<I", data))


def _pcm16(mono: np.ndarray) -> bytes:
    return (np.clip(mono, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def wav_pieces(mono: np.ndarray, rate: int) -> Callable[[], Iterator[bytes]]:
    """A 16-bit mono WAV of ``mono`` in pieces whose lengths are multiples of 3 (but the last)."""
    def read() -> Iterator[bytes]:
        pending = _wav_header(len(mono), rate)
        step = _STREAM_BYTES // 2
        for i in range(0, len(mono), step):
            pending += _pcm16(mono[i:i + step])
            cut = len(pending) - len(pending) % 3
            yield pending[:cut]
            pending = pending[cut:]
        if pending:
            yield pending
    return read


def wav_bytes(mono: np.ndarray, rate: int) -> bytes:
    return b"".join(wav_pieces(mono, rate)())


def json_pieces(body: Any) -> Iterator[bytes]:
    """``json.dumps(body)`` as bytes, with every ``DataUrl`` in it streamed rather than built whole."""
    streams: list[DataUrl] = []
    marker = f"mimo-stream-{uuid.uuid4().hex}"

    def default(value: Any) -> Any:
        if isinstance(value, DataUrl):
            streams.append(value)
            return f"{marker}-{len(streams) - 1}"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=default)
    pieces = re.split(f'"{marker}-(\\d+)"', text)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            yield piece.encode("utf-8")
        else:
            yield b'"'
            for chunk in streams[int(piece)].chunks():
                yield chunk.encode("ascii")  # base64 and a MIME type: nothing to escape
            yield b'"'


def json_length(body: Any) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """(length in bytes, a function giving the pieces) of ``body``'s JSON, the data URLs not yet read."""
    streams: list[DataUrl] = []

    def default(value: Any) -> Any:
        if isinstance(value, DataUrl):
            streams.append(value)
            return ""
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    skeleton = len(json.dumps(body, default=default).encode("utf-8"))
    return skeleton + sum(len(url) for url in streams), lambda: json_pieces(body)


async def json_request_content(body: Any) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    """Headers (with the exact Content-Length) and an async stream of the JSON of ``body``.

    Reading files and base64 run on a worker thread a few MiB at a time, so the engine's loop
    keeps serving other streams while a long clip is sent.
    """
    length, pieces = await asyncio.to_thread(json_length, body)

    async def stream() -> AsyncIterator[bytes]:
        it = pieces()
        while batch := await asyncio.to_thread(_next_batch, it):
            yield batch

    return {"Content-Type": "application/json", "Content-Length": str(length)}, stream()


def _next_batch(it: Iterator[bytes], size: int = 4 * 1024 * 1024) -> bytes:
    out, got = [], 0
    for piece in it:
        out.append(piece)
        got += len(piece)
        if got >= size:
            break
    return b"".join(out)
