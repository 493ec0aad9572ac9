"""When the database fails: the sentences we say, moving a damaged file aside, and the unsaved-writes file.

Writes that could not reach the database before the app closed (it was locked by another program,
or the disk was full) are kept in ``conversations.sqlite3.unsaved.json`` and written at the next
start, before anything else reads the history.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import StoreError


@contextlib.contextmanager
def friendly_errors(db_path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(describe_sqlite_error(exc, db_path)) from exc


def describe_sqlite_error(exc: sqlite3.Error, db_path: Path) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return (
            f"The conversation database {db_path} is locked by another program. "
            "Is MiMo Desktop already running? Close the other copy and try again."
        )
    if "disk is full" in text or "database or disk is full" in text:
        return (
            f"The disk holding {db_path.parent} is full, so this change could not be saved. "
            "Free some space and try again."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"The conversation database {db_path} is damaged and cannot be read. "
            "Move it aside (it is kept as is) and MiMo Desktop will start a new one."
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return f"MiMo Desktop cannot write its conversation database at {db_path}: check the folder's permissions."
    return f"The conversation database {db_path} failed: {exc}."


def quarantine_damaged(db_path: Path) -> Path:
    """Move a damaged database aside (never delete it) so a fresh one can be created."""
    target = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(db_path) + suffix)
        if src.exists():
            shutil.move(src, Path(str(target) + suffix))
    return target


# ---------------------------------------------------------------- unsaved writes
def unsaved_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".unsaved.json")


def write_unsaved(db_path: Path, left: dict[tuple[str, Any], dict[str, Any]]) -> Path:
    """Keep queued updates that could not be written; atomic (a crash leaves the old file or the new)."""
    target = unsaved_path(db_path)
    rows = [{"table": table, "id": row_id, "fields": fields} for (table, row_id), fields in left.items()]
    rows = [*_previous(target), *rows]  # an older file not yet replayed (still locked at this start)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(rows, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def _previous(target: Path) -> list[dict[str, Any]]:
    try:
        return read_unsaved(target)
    except (OSError, ValueError):
        return []


def read_unsaved(target: Path) -> list[dict[str, Any]]:
    with open(target, encoding="utf-8") as f:
        rows = json.load(f)
    if not isinstance(rows, list):
        raise ValueError("not a list")
    return [r for r in rows if isinstance(r, dict) and {"table", "id", "fields"} <= r.keys()]


def replay_unsaved(conn: sqlite3.Connection, db_path: Path) -> int:
    """Write what the last session could not (in its order), then remove the file. Returns rows written."""
    from .writer import write_update

    target = unsaved_path(db_path)
    if not target.exists():
        return 0
    try:
        rows = read_unsaved(target)
    except (OSError, ValueError):
        target.rename(target.with_name(target.name + ".unreadable"))  # kept for a person to look at
        return 0
    refused = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for row in rows:
            if row["table"] not in ("messages", "conversations", "settings") or not isinstance(row["fields"], dict):
                continue
            conn.execute("SAVEPOINT one_row")
            try:
                write_update(conn, (row["table"], row["id"]), row["fields"])
            except sqlite3.IntegrityError:  # refused again (a constraint, a trigger): kept for a person
                conn.execute("ROLLBACK TO one_row")
                refused.append(row)
            conn.execute("RELEASE one_row")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if refused:
        kept = target.with_name(f"{target.name}.refused-{time.strftime('%Y%m%d-%H%M%S')}")
        kept.write_text(json.dumps(refused), encoding="utf-8")
    target.unlink()
    return len(rows) - len(refused)
