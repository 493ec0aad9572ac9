"""Salvage a damaged history: move the file aside (kept as is) and recover what can be read into a new one.

SQLite's own ``.recover`` (the sqlite3 command-line tool) reads every page it can, around damaged
ones; without the tool, the tables are copied row by row with the sqlite3 module, stepping over rows
that cannot be read. Either way the rows go into a fresh database of the current schema, dangling
references are mended, and the person is told how many conversations and messages came back.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .opening import INTERRUPTED, open_for_writing
from .recovery import quarantine_damaged, unsaved_path

TABLES = ("conversations", "messages", "attachments", "message_attachments", "settings")
RECOVER_TIMEOUT_S = 300.0
MAX_SKIPS = 64  # unreadable stretches stepped over per table before giving up on the rest of it


@dataclass(frozen=True)
class Salvage:
    kept: Path  # the damaged file, moved aside
    conversations: int
    messages: int
    method: str  # "sqlite3 .recover" or "row-by-row copy"

    def sentence(self) -> str:
        return (f"Recovered {self.conversations} conversation{'s' if self.conversations != 1 else ''} and "
                f"{self.messages} message{'s' if self.messages != 1 else ''} from the damaged history "
                f"({self.method}). The damaged file is kept as {self.kept}.")


def salvage(db_path: Path) -> Salvage:
    """Move ``db_path`` aside and build a new database at ``db_path`` from what it still holds."""
    kept = quarantine_damaged(db_path)
    unsaved = unsaved_path(db_path)
    with tempfile.TemporaryDirectory(prefix="mimo-salvage-", dir=db_path.parent) as work:
        # the last session's unsaved writes wait until the rows they change are back
        held = Path(work) / unsaved.name
        if unsaved.exists():
            unsaved.rename(held)
        try:
            source, method = _recovered_copy(kept, Path(work)), "sqlite3 .recover"
            if source is None:
                source, method = kept, "row-by-row copy"
            conn, _ = open_for_writing(db_path, busy_timeout_s=2.0)
            try:
                _copy_rows(conn, source)
                conversations = conn.execute(
                    "SELECT count(*) FROM conversations WHERE deleted_at IS NULL").fetchone()[0]
                messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            finally:
                conn.close()
        finally:
            if held.exists():
                held.rename(unsaved)  # written by the next Store.open
    return Salvage(kept, conversations, messages, method)


def _recovered_copy(damaged: Path, work: Path) -> Path | None:
    """SQLite's .recover into a scratch database; None without the sqlite3 tool or if it fails."""
    tool = shutil.which("sqlite3")
    if tool is None:
        return None
    target = work / "recovered.sqlite3"
    try:
        dump = subprocess.run([tool, str(damaged), ".recover"], capture_output=True, timeout=RECOVER_TIMEOUT_S)
        if dump.returncode != 0 or not dump.stdout:
            return None
        load = subprocess.run([tool, str(target)], input=dump.stdout, capture_output=True,
                              timeout=RECOVER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return target if load.returncode == 0 and target.exists() else None


def _copy_rows(conn: sqlite3.Connection, source: Path) -> None:
    conn.execute("PRAGMA foreign_keys = OFF")  # rows arrive in any order; references are mended after
    old = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            columns = _shared_columns(conn, old, table)
            if columns:
                _copy_table(conn, old, table, columns)
        _mend(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        old.close()
        conn.execute("PRAGMA foreign_keys = ON")


def _shared_columns(conn: sqlite3.Connection, old: sqlite3.Connection, table: str) -> list[str]:
    try:
        theirs = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
    except sqlite3.Error:
        return []
    ours = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    return [c for c in theirs if c in ours]


def _copy_table(conn: sqlite3.Connection, old: sqlite3.Connection, table: str, columns: list[str]) -> None:
    """Every readable row, in rowid order; an unreadable stretch is stepped over, not the table's end."""
    names = ", ".join(columns)
    insert = f"INSERT OR IGNORE INTO {table}({names}) VALUES ({', '.join('?' for _ in columns)})"
    last, step, skips = None, 1, 0
    while skips <= MAX_SKIPS:
        where, args = ("WHERE rowid > ?", (last,)) if last is not None else ("", ())
        try:
            for row in old.execute(f"SELECT rowid, {names} FROM {table} {where} ORDER BY rowid", args):
                last, step = row[0], 1
                try:
                    conn.execute(insert, row[1:])
                except sqlite3.Error:
                    pass  # a row that breaks the new schema's checks: left out
            return
        except sqlite3.Error:
            skips += 1
            last = (last or 0) + step  # past the damaged rows, further each time
            step *= 2


def _mend(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)")
    conn.execute("UPDATE messages SET parent_id = NULL WHERE parent_id IS NOT NULL"
                 " AND parent_id NOT IN (SELECT id FROM messages)")
    conn.execute("DELETE FROM message_attachments WHERE message_id NOT IN (SELECT id FROM messages)"
                 " OR sha256 NOT IN (SELECT sha256 FROM attachments)")
    conn.execute("""UPDATE conversations SET current_leaf_id =
                        (SELECT max(id) FROM messages WHERE conversation_id = conversations.id)
                    WHERE current_leaf_id IS NULL OR current_leaf_id NOT IN (SELECT id FROM messages)""")
    conn.execute("UPDATE messages SET state = 'stopped', error = ? WHERE state = 'streaming'", (INTERRUPTED,))
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
