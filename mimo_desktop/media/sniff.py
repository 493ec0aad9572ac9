"""Which kind of file is this? Decided from its first bytes, never from its name.

Containers that can hold either pictures or sound (MP4, Matroska/WebM, Ogg, AVI)
are only narrowed to "audiovisual" here; the decoder's stream probe settles them.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Literal

from mimo_desktop.media.errors import EmptyMediaError, UnsupportedMediaError

SniffedKind = Literal["image", "audio", "audiovisual"]

HEADER_BYTES = 64


@dataclass(frozen=True)
class Sniffed:
    kind: SniffedKind
    format: str  # short name: "jpeg", "png", "mp4", "wav", ...
    mime: str


_IMAGE_MAGIC: list[tuple[bytes, str, str]] = [
    (b"\xff\xd8\xff", "jpeg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
    (b"II*\x00", "tiff", "image/tiff"),
    (b"MM\x00*", "tiff", "image/tiff"),
    (b"BM", "bmp", "image/bmp"),
]

# ISO base media brands that mean "audio only" (iTunes audio, audiobooks).
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def sniff(head: bytes) -> Sniffed:
    """Classify a file from its first ``HEADER_BYTES`` bytes (or raise a MediaError)."""
    if not head:
        raise EmptyMediaError("The file is empty (0 bytes).")
    for magic, fmt, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return Sniffed("image", fmt, mime)
    found = _sniff_riff(head) or _sniff_iso(head) or _sniff_other(head)
    if found:
        return found
    _refuse_documents(head)
    if _looks_like_text(head):
        raise UnsupportedMediaError("This is a text file, not an image, video or audio file.")
    raise UnsupportedMediaError("This is not an image, video or audio file this app can read.")


def _sniff_riff(head: bytes) -> Sniffed | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"WEBP":
        return Sniffed("image", "webp", "image/webp")
    if form == b"WAVE":
        return Sniffed("audio", "wav", "audio/wav")
    if form == b"AVI ":
        return Sniffed("audiovisual", "avi", "video/x-msvideo")
    return None


def _sniff_iso(head: bytes) -> Sniffed | None:
    box = head[4:8]
    if box == b"ftyp":
        brand = head[8:12]
        if brand in _AUDIO_BRANDS:
            return Sniffed("audio", "m4a", "audio/mp4")
        if brand == b"qt  ":
            return Sniffed("audiovisual", "mov", "video/quicktime")
        if brand in (b"heic", b"heix", b"mif1", b"avif"):
            raise UnsupportedMediaError("HEIC/AVIF pictures are not supported; convert it to JPEG or PNG.")
        return Sniffed("audiovisual", "mp4", "video/mp4")
    if box in _QUICKTIME_ATOMS:
        return Sniffed("audiovisual", "mov", "video/quicktime")
    return None


def _sniff_other(head: bytes) -> Sniffed | None:
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: Matroska or WebM; the doctype string sits in the first bytes
        if b"webm" in head[:HEADER_BYTES]:
            return Sniffed("audiovisual", "webm", "video/webm")
        return Sniffed("audiovisual", "mkv", "video/x-matroska")
    if head.startswith(b"OggS"):
        return Sniffed("audiovisual", "ogg", "audio/ogg")
    if head.startswith(b"fLaC"):
        return Sniffed("audio", "flac", "audio/flac")
    if head.startswith(b"ID3"):
        return Sniffed("audio", "mp3", "audio/mpeg")
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        # MPEG audio frame sync (MP3) or ADTS (AAC: layer bits 00)
        if (head[1] & 0x06) == 0:
            return Sniffed("audio", "aac", "audio/aac")
        return Sniffed("audio", "mp3", "audio/mpeg")
    return None


def _refuse_documents(head: bytes) -> None:
    """Files people often mistake for pictures get a message that says what to do instead."""
    if head.startswith(b"%PDF"):
        raise UnsupportedMediaError("PDF documents are not supported; export the page as a PNG or JPEG picture.")
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(b"<svg") or (lowered.startswith(b"<?xml") and b"<svg" in lowered):
        raise UnsupportedMediaError("SVG drawings are not supported; export it as a PNG picture.")


def _looks_like_text(head: bytes) -> bool:
    try:
        # not final: the header may end in the middle of a multi-byte character
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)
