"""Opening the database: migrations, the last session's unsaved writes and crash recovery on the
reading connection; or, when the disk is full, a read-only view of the history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import StoreError
from .recovery import describe_sqlite_error, replay_unsaved
from .schema import migrate

INTERRUPTED = "Interrupted: MiMo Desktop closed before this answer finished."


def open_for_writing(db_path: Path, busy_timeout_s: float) -> tuple[sqlite3.Connection, int]:
    """The reading connection, after migrations, the last session's unsaved writes and crash recovery."""
    conn = sqlite3.connect(db_path, timeout=busy_timeout_s, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError("database is locked")
        migrate(conn)
        replayed = replay_unsaved(conn, db_path)
        # Answers that were streaming when the app died are kept, marked as stopped.
        conn.execute("UPDATE messages SET state = 'stopped', error = ? WHERE state = 'streaming'", (INTERRUPTED,))
    except BaseException:
        conn.close()
        raise
    return conn, replayed


def open_read_only(db_path: Path) -> sqlite3.Connection:
    """For a full disk: read the history without writing a byte (no -wal/-shm files created)."""
    last: sqlite3.Error | None = None
    for query in ("mode=ro", "immutable=1"):  # immutable: a WAL database whose -shm cannot be created
        try:
            conn = sqlite3.connect(f"{db_path.as_uri()}?{query}", uri=True, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT count(*) FROM conversations").fetchone()
            return conn
        except sqlite3.Error as exc:
            last = exc
    assert last is not None
    raise StoreError(describe_sqlite_error(last, db_path)) from last
