"""The one database writer: a thread that owns the write connection and runs every write in order.

Callers never wait on SQLite for a lock or a full disk. Updates (a streamed answer's text, a rename,
a setting) are merged per row and queued; the thread commits them and, when the database is locked
by another program or the disk is full, keeps them in memory and retries until it succeeds, saying
what is happening through ``on_status``. Until a queued update is on disk, ``pending`` lets readers
see it (read-your-writes). Writes that must return something (a new row's id) are ``call``-ed: the
caller waits for them, but gives up at once with a clear error when the writer is stuck on a lock or
a full disk. ``close`` drains the queue; what still cannot be written is handed back to be kept.
"""

from __future__ import annotations

import collections
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OK, LOCKED, FULL, FAILED = "ok", "locked", "full", "failed"
RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.5, 1.0)  # then every second
CALL_PATIENCE_S = 0.5  # how long a caller waits on a writer that is retrying before it gives up

Key = tuple[str, Any]  # ("messages", id) | ("conversations", id) | ("settings", key)


FULL_BELOW_BYTES = 4 << 20  # free space under which a failing write counts as a full disk


def classify(exc: sqlite3.Error, folder: Path | None = None) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return LOCKED
    if "full" in text:
        return FULL
    # SQLite says "disk I/O error" when a full disk stops it growing the -wal or -shm file
    if "i/o error" in text and folder is not None and disk_full(folder):
        return FULL
    return FAILED


def disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


@dataclass(frozen=True)
class WriterStatus:
    state: str  # OK, LOCKED, FULL or FAILED
    unsaved_words: int = 0  # streamed words only in memory
    detail: str = ""  # sqlite's own words for FAILED

    def sentence(self, db_path: Path) -> str:
        words = f"{self.unsaved_words} word{'s' if self.unsaved_words != 1 else ''}"
        if self.state == LOCKED:
            kept = f" {words} of the answer are kept in memory meanwhile." if self.unsaved_words else ""
            return f"The history is locked by another program; retrying.{kept}"
        if self.state == FULL:
            return (f"Disk full: {words} kept in memory, retrying. Free some space on the disk holding "
                    f"{db_path.parent}.")
        if self.state == FAILED:
            return f"The conversation database {db_path} refused a write: {self.detail}"
        return ""

    def refusal(self, db_path: Path) -> str:
        """For a change that was given up on (a new message, a new conversation): nothing was written."""
        if self.state == LOCKED:
            return "The history is locked by another program, so this was not saved: try again in a moment."
        if self.state == FULL:
            return f"The disk holding {db_path.parent} is full, so this was not saved: free some space and try again."
        return self.sentence(db_path)


@dataclass
class _Update:
    fields: dict[str, Any]
    version: int = 0


@dataclass
class _Call:
    fn: Callable[[sqlite3.Connection], Any]
    done: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued | running | done | cancelled
    front: bool = False  # maintenance run before the queue: its success says nothing of the queue's
    result: Any = None
    error: sqlite3.Error | None = None


class WriterStuck(Exception):
    """A ``call`` gave up: the writer is retrying on a lock or a full disk (``status`` says which)."""

    def __init__(self, status: WriterStatus) -> None:
        super().__init__(status.state)
        self.status = status


class DbWriter:
    def __init__(self, db_path: Path, *, on_status: Callable[[WriterStatus], None] | None = None,
                 busy_timeout_s: float = 0.1) -> None:
        self.db_path = db_path
        self.on_status = on_status
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Condition()
        self._queue: collections.deque[Key | _Call] = collections.deque()
        self._updates: dict[Key, _Update] = {}
        # updates the database refused (a damaged file...): still shown, handed back by close to be kept
        self._refused: dict[Key, dict[str, Any]] = {}
        self._saved_len: dict[int, int] = {}  # message id -> characters of text+reasoning known on disk
        self._status = WriterStatus(OK)
        self._closing = False
        self._ready = threading.Event()
        self._open_error: sqlite3.Error | None = None
        self._thread = threading.Thread(target=self._run, name="mimo-db-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    # ------------------------------------------------------------------ callers' side
    @property
    def status(self) -> WriterStatus:
        with self._lock:
            return self._status

    def update(self, table: str, row_id: Any, fields: dict[str, Any]) -> None:
        """Merge ``fields`` into the row's queued update; returns at once."""
        key = (table, row_id)
        with self._lock:
            self._check_open()
            pending = self._updates.get(key)
            if pending is None:
                self._updates[key] = _Update(dict(fields))
                self._queue.append(key)
            else:
                pending.fields.update(fields)
                pending.version += 1
            self._lock.notify_all()

    def pending(self, table: str, row_id: Any) -> dict[str, Any] | None:
        """The fields queued for a row and not yet on disk (a copy), or None."""
        with self._lock:
            return self._merged().get((table, row_id))

    def pending_rows(self, table: str) -> dict[Any, dict[str, Any]]:
        with self._lock:
            return {k[1]: fields for k, fields in self._merged().items() if k[0] == table}

    def _merged(self) -> dict[Key, dict[str, Any]]:
        """Refused and queued fields per row, the queued (newer) winning. Call with the lock held."""
        merged = {key: dict(fields) for key, fields in self._refused.items()}
        for key, pending in self._updates.items():
            merged.setdefault(key, {}).update(pending.fields)
        return merged

    def call(self, fn: Callable[[sqlite3.Connection], Any], *, patience_s: float = CALL_PATIENCE_S,
             front: bool = False) -> Any:
        """Run ``fn(connection)`` on the writer, after everything queued before it (``front``: before
        it, for maintenance such as PRAGMAs), and return its result.

        Raises WriterStuck if, after ``patience_s``, the writer is still retrying on a lock or a full
        disk (the call is then dropped, never run later), or the sqlite3 error ``fn`` raised.
        """
        job = _Call(fn, front=front)
        with self._lock:
            self._check_open()
            if front:
                self._queue.appendleft(job)
            else:
                self._queue.append(job)
            self._lock.notify_all()
        deadline = time.monotonic() + patience_s
        while not job.done.wait(timeout=max(0.0, deadline - time.monotonic()) or 0.05):
            with self._lock:
                stuck = self._status.state in (LOCKED, FULL)
                if time.monotonic() >= deadline and stuck and job.state == "queued":
                    job.state = "cancelled"
                    self._queue.remove(job)
                    raise WriterStuck(self._status)
        if job.state == "cancelled":  # the writer closed first
            raise WriterStuck(self.status)
        if job.error is not None:
            raise job.error
        return job.result

    def drain(self, timeout_s: float, *, unless_stuck: bool = False) -> bool:
        """Wait until everything queued is on disk; False if it is not within ``timeout_s`` or, with
        ``unless_stuck``, as soon as the writer is retrying on a lock or a full disk."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0 or (unless_stuck and self._status.state in (LOCKED, FULL)):
                    return False
                self._lock.wait(timeout=left)
            return True

    def close(self, timeout_s: float = 5.0) -> dict[Key, dict[str, Any]]:
        """Write what is queued (waiting up to ``timeout_s``), stop the thread, and return what is still
        not on disk (row key -> fields), for the caller to keep elsewhere."""
        self.drain(timeout_s)
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join(timeout=timeout_s + 1.0)
        with self._lock:
            for job in self._queue:
                if isinstance(job, _Call) and job.state == "queued":
                    job.state = "cancelled"
                    job.done.set()
            return self._merged()

    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeError("the database writer is closed")

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.db_path, timeout=self._busy_timeout_s, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # each commit survives a power cut too
        except sqlite3.Error as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        failures = 0
        try:
            while True:
                with self._lock:
                    while not self._queue and not self._closing:
                        self._lock.wait()
                    if self._closing:
                        return
                    head = self._queue[0]
                    if isinstance(head, _Call):
                        if head.state == "cancelled":
                            self._queue.popleft()
                            continue
                        head.state = "running"
                        snapshot = None
                    else:
                        pending = self._updates[head]
                        snapshot = (dict(pending.fields), pending.version)
                error = self._attempt(conn, head, snapshot)
                kind = classify(error, self.db_path.parent) if error is not None else OK
                if kind in (OK, FAILED):
                    failures = 0
                    self._done(head, snapshot, error)
                    continue
                if isinstance(head, _Call):
                    with self._lock:
                        head.state = "queued"  # retried, unless its caller gives up meanwhile
                self._set_status(WriterStatus(kind, self._unsaved_words()))
                delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
                failures += 1
                with self._lock:
                    if not self._closing:
                        self._lock.wait(timeout=delay)
        finally:
            conn.close()

    def _attempt(self, conn: sqlite3.Connection, head: Key | _Call,
                 snapshot: tuple[dict[str, Any], int] | None) -> sqlite3.Error | None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if isinstance(head, _Call):
                    result = head.fn(conn)
                else:
                    assert snapshot is not None
                    write_update(conn, head, snapshot[0])
                    result = None
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            return exc
        if isinstance(head, _Call):
            head.result = result
        return None

    def _done(self, head: Key | _Call, snapshot: tuple[dict[str, Any], int] | None,
              error: sqlite3.Error | None) -> None:
        with self._lock:
            self._queue.remove(head)  # not always the head now: a `front` call may have come in
            if isinstance(head, _Call):
                head.error = error
                head.state = "done"
                head.done.set()
            else:
                assert snapshot is not None
                fields, version = snapshot
                if head[0] == "messages" and error is None:
                    self._saved_len[head[1]] = len(_streamed(fields))
                if error is not None:  # refused (not a lock, not a full disk): kept for the unsaved file
                    self._refused.setdefault(head, {}).update(fields)
                if self._updates[head].version == version:
                    del self._updates[head]
                else:
                    self._queue.appendleft(head)  # newer fields arrived meanwhile: write them next
            status = WriterStatus(FAILED, detail=str(error)) if error is not None else WriterStatus(OK)
            self._lock.notify_all()
        if error is not None or (self._status.state != OK and not getattr(head, "front", False)):
            self._set_status(status)

    def _unsaved_words(self) -> int:
        with self._lock:
            words = 0
            for (table, row_id), pending in self._updates.items():
                if table == "messages":
                    words += len(_streamed(pending.fields)[self._saved_len.get(row_id, 0):].split())
            return words

    def _set_status(self, status: WriterStatus) -> None:
        with self._lock:
            changed = status != self._status
            self._status = status
            self._lock.notify_all()  # a drain that gives up when stuck learns it now
        if changed and self.on_status is not None:
            try:
                self.on_status(status)
            except Exception:  # noqa: BLE001 - a listener gone (a closed window) must not stop the writes
                log.exception("database writer: the status listener failed")


def _streamed(fields: dict[str, Any]) -> str:
    """A message's thinking then its answer: the order they stream in, so the saved part is a prefix."""
    return (fields.get("reasoning") or "") + " " + (fields.get("text") or "")


COLUMNS = {
    "messages": {"text", "reasoning", "state", "error", "stats_json", "updated_at"},
    "conversations": {"title", "updated_at", "settings_json", "deleted_at"},
}


def write_update(conn: sqlite3.Connection, key: Key, fields: dict[str, Any]) -> None:
    table, row_id = key
    if table == "settings":
        conn.execute("INSERT INTO settings(key, value_json) VALUES (?, ?)"
                     " ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
                     (row_id, fields["value_json"]))
        return
    allowed = COLUMNS.get(table, set())
    names = [name for name in fields if name in allowed]  # a kept file is read back too: only known columns
    if not names:
        return
    assignments = ", ".join(f"{name} = ?" for name in names)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*(fields[n] for n in names), row_id))
