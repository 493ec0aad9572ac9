"""Attachment files kept content-addressed (sha256) beside the database.

The same photo attached twice is stored once; a file is written to a temporary name and
renamed into place, so a crash never leaves a half-written attachment under its real name.
"""

from __future__ import annotations

import errno
import hashlib
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

    def export_to(self, sha256: str, target: Path) -> None:
        shutil.copyfile(self.path_for(sha256), target)


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
