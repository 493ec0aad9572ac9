"""Attachment files kept content-addressed (sha256) beside the database.

The same photo attached twice is stored once; a file is written to a temporary name and
renamed into place, so a crash never leaves a half-written attachment under its real name.

Sending never waits for a copy: ``reserve`` notes (durably, in ``.pending/``) which file will be
stored under which hash, the question is saved, and ``complete`` copies it in the background.
A kill during the copy loses nothing typed; ``recover`` at the next start removes the half-written
``.incoming-*`` file and hands back the copies still to finish.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import StoreError

_CHUNK = 1 << 20


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` in; return (sha256, size)."""
        source = Path(source)
        try:
            with source.open("rb") as src:
                return self._put_stream(src)
        except FileNotFoundError:
            raise StoreError(f"The file {source.name!r} no longer exists.") from None
        except PermissionError:
            raise StoreError(f"MiMo Desktop may not read {source.name!r} (permission denied).") from None

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        return self._put_stream(io.BytesIO(data))

    def _put_stream(self, src) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_for(sha)
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                os.unlink(tmp_name)
            else:
                os.replace(tmp_name, final)
            return sha, size
        except OSError as exc:
            _unlink_quietly(tmp_name)
            if exc.errno == errno.ENOSPC:
                raise StoreError(
                    f"The disk holding {self.root} is full: the attachment was not saved. "
                    "Free some space and attach it again."
                ) from None
            raise StoreError(f"Could not save the attachment in {self.root}: {exc.strerror}.") from None
        except BaseException:
            _unlink_quietly(tmp_name)
            raise

    # ------------------------------------------------------------ copies after Send
    def _pending_record(self, sha256: str) -> Path:
        return self.root / ".pending" / f"{sha256}.json"

    def reserve(self, source: Path, sha256: str) -> bool:
        """Before the message naming ``sha256`` is saved: remember where its file comes from.

        True when this call noted it (False: stored already, or noted by an earlier send)."""
        if self.has(sha256):
            return False
        source = Path(source)
        if not source.is_file():
            raise StoreError(f"The file {source.name!r} no longer exists.")
        record = self._pending_record(sha256)
        noted_before = record.is_file()  # by an earlier question: same bytes, the newer place is written
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            tmp = record.with_suffix(".tmp")
            tmp.write_text(json.dumps({"source": str(source.resolve())}), encoding="utf-8")
            os.replace(tmp, record)
        except OSError as exc:
            raise StoreError(f"Could not note the attachment in {self.root}: {exc.strerror}.") from None
        return not noted_before

    def unreserve(self, sha256: str) -> None:
        """The message naming ``sha256`` was not saved after all: its file is not to be copied in."""
        self._pending_record(sha256).unlink(missing_ok=True)

    def pending_source(self, sha256: str) -> Path | None:
        """The original file of an attachment whose copy has not finished, if it still exists."""
        try:
            source = Path(json.loads(self._pending_record(sha256).read_text(encoding="utf-8"))["source"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return source if source.is_file() else None

    def pending_sources(self) -> list[Path]:
        """The originals of every copy still to be finished (files that must not be deleted yet)."""
        records = sorted((self.root / ".pending").glob("*.json")) if self.root.is_dir() else []
        return [source for record in records if (source := self.pending_source(record.stem)) is not None]

    def complete(self, sha256: str, source: Path | None = None) -> None:
        """Copy the reserved file in (runs in the background); a file changed since it was attached is refused."""
        source = source or self.pending_source(sha256)
        if not self.has(sha256):
            if source is None:
                self._pending_record(sha256).unlink(missing_ok=True)
                raise StoreError("An attachment's file disappeared before it could be saved.")
            got, _ = self.put_file(source)
            if got != sha256:
                self._pending_record(sha256).unlink(missing_ok=True)
                raise StoreError(f"{Path(source).name!r} changed after it was attached; the saved copy is the "
                                 "new version, the conversation keeps the one that was sent.")
        self._pending_record(sha256).unlink(missing_ok=True)

    def recover(self) -> list[str]:
        """At start-up: remove half-written ``.incoming-*`` files; the hashes whose copy is to be finished."""
        if not self.root.is_dir():
            return []
        for leftover in self.root.glob(".incoming-*"):
            _unlink_quietly(str(leftover))
        todo = []
        for record in sorted((self.root / ".pending").glob("*.json")):
            sha = record.stem
            if self.has(sha) or self.pending_source(sha) is None:
                record.unlink(missing_ok=True)  # done already, or nothing left to copy
            else:
                todo.append(sha)
        return todo

    def export_to(self, sha256: str, target: Path) -> None:
        shutil.copyfile(self.path_for(sha256), target)


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
