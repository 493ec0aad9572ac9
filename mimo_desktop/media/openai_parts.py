"""OpenAI chat content parts with data URLs, for a remote OpenAI-compatible server."""

from __future__ import annotations

import base64
import io
import threading
import wave
from collections.abc import Callable, Iterator, Mapping
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


def video_part(original: bytes, mime: str) -> dict[str, Any]:
    return {"type": "video_url", "video_url": {"url": f"data:{mime};base64,{_b64(original)}"}}


def audio_part(original: bytes | None, fmt: str, mono: np.ndarray, rate: int) -> dict[str, Any]:
    """``input_audio`` with the original WAV/MP3, or a 16-bit WAV of the decoded mono signal."""
    if original is not None and fmt in _PASS_THROUGH_AUDIO:
        data, out_fmt = original, fmt
    else:
        data, out_fmt = wav_bytes(mono, rate), "wav"
    return {"type": "input_audio", "input_audio": {"data": _b64(data), "format": out_fmt}}


def wav_bytes(mono: np.ndarray, rate: int) -> bytes:
    pcm = (np.clip(mono, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
