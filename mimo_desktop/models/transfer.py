"""Fetch one file over HTTP into a partial file that survives interruptions, then verify and move it in place.

Why not ``hf_hub_download``: huggingface_hub 2.x writes to a uniquely named temporary file and
deletes it when a download fails, so a 5 GB shard cut at 4.9 GB starts again from zero on the next
attempt. Here the partial file is named by the file's content hash and kept, the next attempt asks
the server for the rest (``Range: bytes=N-``), and the hash of the whole file is checked before it
is moved into place, so a resumed file is proven identical to the Hub's.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from mimo_desktop.models.download_plan import RemoteFile
from mimo_desktop.models.errors import DownloadCancelled, DownloadError

HASH_BLOCK_BYTES = 8 * 1024 * 1024
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class TransientError(Exception):
    """A failure worth retrying from where the partial file ends (network cut, server busy)."""


class FileFetch:
    """One file's transfer: ``run()`` downloads, resumes, verifies and moves it into place."""

    def __init__(self, client: httpx.Client, url: str, headers: dict[str, str], remote: RemoteFile,
                 part: Path, final: Path, *, on_bytes: Callable[[int], None], cancel: threading.Event,
                 track_response: Callable[[httpx.Response | None], None]) -> None:
        self.client, self.url, self.headers, self.remote = client, url, headers, remote
        self.part, self.final = part, final
        self.on_bytes, self.cancel, self.track_response = on_bytes, cancel, track_response

    def run(self) -> None:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        hasher = self._new_hasher()
        have = self._hash_existing(hasher)
        if have < self.remote.size:
            hasher = self._stream_rest(hasher, have)
        self._verify(hasher)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.part, self.final)

    def _new_hasher(self):
        if self.remote.sha256:
            return hashlib.sha256()
        # Small files carry the git blob id, sha1 over "blob <size>\0" + content.
        hasher = hashlib.sha1(usedforsecurity=False)
        hasher.update(b"blob %d\0" % self.remote.size)
        return hasher

    def _hash_existing(self, hasher) -> int:
        """Feed what an earlier attempt fetched into the hash; returns its length."""
        if not self.part.is_file():
            return 0
        if self.part.stat().st_size > self.remote.size:
            self.part.unlink()  # cannot be a prefix of the file: start over
            return 0
        have = 0
        with open(self.part, "rb") as f:
            while block := f.read(HASH_BLOCK_BYTES):
                self._check_cancel()
                hasher.update(block)
                have += len(block)
        return have

    def _stream_rest(self, hasher, have: int):
        headers = dict(self.headers, **({"Range": f"bytes={have}-"} if have else {}))
        headers["Accept-Encoding"] = "identity"  # the byte counts must be the file's, not gzip's
        try:
            with self.client.stream("GET", self.url, headers=headers) as response:
                self.track_response(response)
                start = self._check_response(response, have)
                if start == 0 and have:
                    self.on_bytes(-have)  # the server ignored our Range: the file starts over
                    hasher, have = self._new_hasher(), 0
                with open(self.part, "r+b" if start else "wb") as out:
                    out.seek(start)
                    out.truncate()
                    # No chunk_size: httpx would buffer up to it and lose the buffer when the connection breaks.
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        hasher.update(chunk)
                        self.on_bytes(len(chunk))
                        self._check_cancel()  # a listener may have cancelled (and closed this response)
        except (httpx.TransportError, httpx.StreamError) as exc:
            self._check_cancel()  # cancel() closes the response, which surfaces here as a read error
            raise TransientError(f"the connection broke ({type(exc).__name__})") from exc
        finally:
            self.track_response(None)
        self._check_cancel()
        size = self.part.stat().st_size
        if size != self.remote.size:
            raise TransientError(f"the server sent {size} of {self.remote.size} bytes")
        return hasher

    def _check_response(self, response: httpx.Response, have: int) -> int:
        """Where the body starts in the file: ``have`` for a honoured Range, 0 for a whole file."""
        if response.status_code == 416:  # our partial file is not a prefix of the file the server has
            self.part.unlink(missing_ok=True)
            raise TransientError("the partial file did not match the server's file")
        if response.status_code in _RETRY_STATUS:
            raise TransientError(f"the server answered HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise DownloadError(
                f"The Hub refused {self.remote.path} (HTTP {response.status_code}): the repository may be gated or "
                "private; save a Hugging Face token that can read it (mimo-desktop model token set)."
            )
        if response.status_code == 206:
            content_range = response.headers.get("Content-Range", "")
            start = content_range.split(" ")[-1].split("-")[0]
            if not start.isdigit() or int(start) != have:
                raise TransientError(f"the server resumed at the wrong place ({content_range!r})")
            return have
        if response.status_code == 200:
            return 0
        raise DownloadError(f"The Hub answered HTTP {response.status_code} for {self.remote.path}.")

    def _verify(self, hasher) -> None:
        expected = self.remote.sha256 or self.remote.blob_id
        if hasher.hexdigest() != expected:
            self.part.unlink(missing_ok=True)
            raise DownloadError(
                f"{self.remote.path} arrived damaged (its checksum does not match the Hub's); "
                "it was deleted and will be fetched again from the start next time."
            )

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise DownloadCancelled()
