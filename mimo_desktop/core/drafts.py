"""Unsent drafts, one per conversation, kept across restarts: ``drafts.json`` in the data folder.

A draft is the text typed and the files attached but not sent. The file is replaced atomically (a temporary
file renamed over it; synced to disk at quitting), so a crash leaves the old drafts or the new, never half.
It lives beside the database, not in it: a draft is still kept while the database is locked or full.

Files in the system's temporary folder (pasted pictures, captures) are gone after the app closes or the
machine restarts, so the draft keeps its own copy of them under ``drafts/`` in the data folder. A recording or
a clip can be large: ``put(..., copy=False)`` leaves the copying to ``make_copy`` on a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NEW = "new"  # the key of what is typed before any conversation exists


class DraftError(Exception):
    """A draft could not be kept; the message says why, in words."""


@dataclass(frozen=True)
class Draft:
    text: str = ""
    files: tuple[Path, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.files


def summary(draft: Draft) -> str:
    words = " ".join(draft.text.split())
    return words or (f"📎 {draft.files[0].name}" if draft.files else "")


def draft_key(conversation_id: int | None) -> str:
    return NEW if conversation_id is None else str(conversation_id)


class DraftBook:
    """The drafts of every conversation, in memory, written to disk by ``save``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "drafts.json"
        self.kept = Path(home) / "drafts"
        self.note = ""  # why the drafts of the last session could not be read, if they could not
        self._copies: dict[Path, Path] = {}  # temporary file -> the draft's own copy, this session
        self._lock = threading.Lock()  # _copies: make_copy runs on a worker thread
        self._drafts = self._load()

    def _load(self) -> dict[str, Draft]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(key): Draft(str(d.get("text", "")), tuple(Path(f) for f in d.get("files", [])))
                    for key, d in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            aside = self.path.with_name("drafts.json.unreadable")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            self.note = f"The unsent drafts of the last session could not be read ({exc}); the file is kept as {aside}."
            return {}

    def get(self, conversation_id: int | None) -> Draft:
        return self._drafts.get(draft_key(conversation_id), Draft())

    def put(self, conversation_id: int | None, draft: Draft, *, copy: bool = True) -> Draft:
        """Remember a draft (an empty one forgets it); files in the temporary folder are copied first,
        or with ``copy=False`` named as they are until ``make_copy`` has copied them (see ``to_copy``)."""
        key = draft_key(conversation_id)
        if draft.empty:
            self._drafts.pop(key, None)
            return draft
        kept = Draft(draft.text, tuple(self._keep(Path(f), copy) for f in draft.files))
        self._drafts[key] = kept
        return kept

    def to_copy(self) -> list[Path]:
        """Temporary files the drafts name that have no copy of their own yet."""
        files = dict.fromkeys(Path(f) for d in self._drafts.values() for f in d.files)
        return [f for f in files if self._needs_copy(f)]

    def make_copy(self, path: Path) -> Path:
        """Copy a temporary file into ``drafts/`` (any thread); the drafts name the copy from the next save."""
        return self._keep(Path(path), True)

    def summaries(self, leave_out: int | None = None) -> dict[int, str]:
        """A line for each conversation's draft (its first words, or the first file's name), as the sidebar
        shows it; ``leave_out``: the conversation open in the window, whose draft is in the composer."""
        return {int(key): summary(d) for key, d in self._drafts.items() if key not in (NEW, str(leave_out))}

    def conversations(self) -> set[int]:
        """The conversations that have a draft."""
        return {int(key) for key in self._drafts if key != NEW}

    def save(self, *, durable: bool = False) -> None:
        """Write every draft. ``durable`` also waits for the disk (fsync), as at quitting; the saves while
        typing do not: the rename alone already leaves the old file or the new, and an fsync can hold the
        window for tens of milliseconds."""
        with self._lock:  # the copies made since, by make_copy, replace the temporary files they copy
            self._drafts = {key: Draft(d.text, tuple(self._copies.get(Path(f), Path(f)) for f in d.files))
                            for key, d in self._drafts.items()}
        data = {key: {"text": d.text, "files": [str(f) for f in d.files]} for key, d in self._drafts.items()}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".drafts-", suffix=".json", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, ensure_ascii=False)
                    out.flush()
                    if durable:
                        os.fsync(out.fileno())
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            raise DraftError(f"Your unsent drafts could not be saved to {self.path}: {exc.strerror or exc}. "
                             "They stay in the window while it is open.") from exc

    def keep_only(self, conversations: Iterable[int]) -> None:
        """Forget the drafts of conversations that are gone (deleted in an earlier session: no undo left)."""
        live = {str(c) for c in conversations}
        self._drafts = {key: d for key, d in self._drafts.items() if key == NEW or key in live}

    def prune(self, in_use: Iterable[Path] = ()) -> None:
        """Delete kept copies no draft names any more (at start-up, before anything is being sent).

        ``in_use``: files still needed elsewhere (the source of a sent attachment whose copy into the
        store a quit or kill interrupted); their folders are kept until the copy is done."""
        named = {Path(f).parent for d in self._drafts.values() for f in d.files}
        named = {folder.resolve() for folder in named | {Path(f).parent for f in in_use}}
        with contextlib.suppress(OSError):
            for folder in self.kept.iterdir():
                if folder.resolve() not in named:
                    shutil.rmtree(folder, ignore_errors=True)

    def _needs_copy(self, path: Path) -> bool:
        with self._lock:
            if path in self._copies:
                return False
        return _in_temp(path) and self.kept not in path.parents and path.is_file()

    def _keep(self, path: Path, copy: bool = True) -> Path:
        with self._lock:
            if path in self._copies:
                return self._copies[path]
        if not copy or not self._needs_copy(path):
            return path
        try:
            self.kept.mkdir(parents=True, exist_ok=True)
            copy = Path(tempfile.mkdtemp(dir=self.kept)) / path.name  # a folder each: the file keeps its name
            shutil.copyfile(path, copy)
        except OSError:
            return path  # the original then, while it lasts
        with self._lock:
            return self._copies.setdefault(path, copy)


def _in_temp(path: Path) -> bool:
    try:
        return Path(tempfile.gettempdir()).resolve() in path.resolve().parents
    except OSError:
        return False
