"""The conversation store: SQLite (WAL, foreign keys, migrations, FTS5) plus content-addressed attachments.

Only one thread owns a Store (the GUI thread in the app). Every sqlite3 error is turned into a
StoreError with a sentence the user can act on.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import paths
from .blobs import BlobStore
from .conversation import (
    Attachment,
    Conversation,
    GenerationStats,
    Message,
    MessageState,
    Role,
    SearchHit,
)
from .errors import StoreError
from .schema import migrate

CURRENT_LEAF = object()  # add_message default: under the conversation's current leaf
INTERRUPTED = "Interrupted: MiMo Desktop closed before this answer finished."


@contextlib.contextmanager
def _friendly_errors(db_path: Path) -> Iterator[None]:
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
            f"The disk holding {db_path.parent} is full, so the conversation could not be saved. "
            "Free some space: what you typed is kept in the window and will be saved when there is room."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"The conversation database {db_path} is damaged and cannot be read. "
            "Move it aside (it is kept as is) and MiMo Desktop will start a new one."
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return f"MiMo Desktop cannot write its conversation database at {db_path}: check the folder's permissions."
    return f"The conversation database {db_path} failed: {exc}."


class Store:
    def __init__(self, conn: sqlite3.Connection, db_path: Path, blobs: BlobStore) -> None:
        self._conn = conn
        self.db_path = db_path
        self.blobs = blobs

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, home: Path | None = None, *, busy_timeout_s: float = 2.0) -> Store:
        home = Path(home) if home is not None else paths.data_home()
        db_path = paths.database_path(home)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"MiMo Desktop cannot create its data folder {home}: {exc.strerror}.") from None
        with _friendly_errors(db_path):
            conn = sqlite3.connect(db_path, timeout=busy_timeout_s, isolation_level=None)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA foreign_keys = ON")
                if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                    raise sqlite3.OperationalError("database is locked")
                # FULL: each commit survives a power cut too, and we commit at most about once a second.
                conn.execute("PRAGMA synchronous = FULL")
                migrate(conn)
                store = cls(conn, db_path, BlobStore(paths.attachments_dir(home)))
                store._recover_interrupted()
            except BaseException:
                conn.close()
                raise
        return store

    def close(self) -> None:
        with _friendly_errors(self.db_path):
            self._conn.close()

    def _recover_interrupted(self) -> None:
        """Answers that were streaming when the app died are kept, marked as stopped."""
        self._conn.execute(
            "UPDATE messages SET state = 'stopped', error = ? WHERE state = 'streaming'", (INTERRUPTED,)
        )

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with _friendly_errors(self.db_path):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with _friendly_errors(self.db_path):
            return self._conn.execute(sql, args).fetchall()

    # ------------------------------------------------------------- conversations
    def create_conversation(self, title: str = "", settings: dict[str, Any] | None = None) -> Conversation:
        now = time.time()
        with self._tx() as tx:
            cur = tx.execute(
                "INSERT INTO conversations(title, created_at, updated_at, settings_json) VALUES (?, ?, ?, ?)",
                (title, now, now, json.dumps(settings or {})),
            )
        return self.conversation(cur.lastrowid)

    def conversation(self, conversation_id: int) -> Conversation:
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise StoreError(f"Conversation {conversation_id} does not exist.")
        return _conversation(rows[0])

    def conversations(self) -> list[Conversation]:
        rows = self._query(
            "SELECT * FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC"
        )
        return [_conversation(r) for r in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self._tx() as tx:
            tx.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                (title.strip(), time.time(), conversation_id),
            )

    def set_conversation_settings(self, conversation_id: int, settings: dict[str, Any]) -> None:
        with self._tx() as tx:
            tx.execute(
                "UPDATE conversations SET settings_json = ? WHERE id = ?", (json.dumps(settings), conversation_id)
            )

    def delete_conversation(self, conversation_id: int) -> None:
        """Hide a conversation; `restore_conversation` undoes it until `purge_deleted` runs."""
        with self._tx() as tx:
            tx.execute("UPDATE conversations SET deleted_at = ? WHERE id = ?", (time.time(), conversation_id))

    def restore_conversation(self, conversation_id: int) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,))

    def purge_deleted(self) -> int:
        with self._tx() as tx:
            return tx.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount

    # ------------------------------------------------------------------ messages
    def add_message(
        self,
        conversation_id: int,
        role: Role,
        text: str = "",
        *,
        state: MessageState = MessageState.COMPLETE,
        parent_id: int | None | object = CURRENT_LEAF,
        attachments: Sequence[Attachment] = (),
    ) -> Message:
        """Append a message under ``parent_id`` (default: the conversation's current leaf) and make it the leaf."""
        now = time.time()
        with self._tx() as tx:
            if parent_id is CURRENT_LEAF:
                row = tx.execute(
                    "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    raise StoreError(f"Conversation {conversation_id} does not exist.")
                parent_id = row[0]
            cur = tx.execute(
                "INSERT INTO messages(conversation_id, parent_id, role, text, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, parent_id, Role(role).value, text, MessageState(state).value, now, now),
            )
            message_id = cur.lastrowid
            for position, att in enumerate(attachments):
                tx.execute(
                    "INSERT OR IGNORE INTO attachments(sha256, kind, mime, size, created_at) VALUES (?, ?, ?, ?, ?)",
                    (att.sha256, att.kind, att.mime, att.size, now),
                )
                tx.execute(
                    "INSERT INTO message_attachments(message_id, position, sha256, name, tokens)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (message_id, position, att.sha256, att.name, att.tokens),
                )
            tx.execute(
                "UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?",
                (message_id, now, conversation_id),
            )
        return self.message(message_id)

    def update_message(
        self,
        message_id: int,
        *,
        text: str | None = None,
        reasoning: str | None = None,
        state: MessageState | None = None,
        error: str | None = None,
        stats: GenerationStats | None = None,
    ) -> None:
        fields: dict[str, Any] = {"updated_at": time.time()}
        if text is not None:
            fields["text"] = text
        if reasoning is not None:
            fields["reasoning"] = reasoning
        if state is not None:
            fields["state"] = MessageState(state).value
        if error is not None:
            fields["error"] = error
        if stats is not None:
            fields["stats_json"] = json.dumps(stats.to_dict())
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._tx() as tx:
            tx.execute(f"UPDATE messages SET {assignments} WHERE id = ?", (*fields.values(), message_id))

    def message(self, message_id: int) -> Message:
        rows = self._query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise StoreError(f"Message {message_id} does not exist.")
        return self._message(rows[0])

    def thread(self, conversation_id: int, leaf_id: int | None = None) -> list[Message]:
        """The messages from the root to ``leaf_id`` (default: the current leaf): what the user sees."""
        if leaf_id is None:
            leaf_id = self.conversation(conversation_id).current_leaf_id
        if leaf_id is None:
            return []
        rows = self._query(
            """
            WITH RECURSIVE chain(id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM messages WHERE id = ? AND conversation_id = ?
                UNION ALL
                SELECT m.id, m.parent_id, chain.depth + 1 FROM messages m JOIN chain ON m.id = chain.parent_id
            )
            SELECT messages.* FROM chain JOIN messages USING (id) ORDER BY chain.depth DESC
            """,
            (leaf_id, conversation_id),
        )
        return [self._message(r) for r in rows]

    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation, all branches, in the order they were written."""
        rows = self._query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        return [self._message(r) for r in rows]

    def siblings(self, message_id: int) -> list[int]:
        """Ids of the alternatives to a message (the same parent), oldest first, itself included."""
        msg = self.message(message_id)
        rows = self._query(
            "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ? ORDER BY id",
            (msg.conversation_id, msg.parent_id, msg.role.value),
        )
        return [r[0] for r in rows]

    def branch_points(self, conversation_id: int) -> set[tuple[int | None, str]]:
        """(parent id, role) of every place the conversation has alternatives: one query, so a view
        of a long thread asks ``siblings`` only where there is more than one."""
        rows = self._query(
            "SELECT parent_id, role FROM messages WHERE conversation_id = ? GROUP BY parent_id, role"
            " HAVING COUNT(*) > 1",
            (conversation_id,),
        )
        return {(r[0], r[1]) for r in rows}

    def switch_branch(self, message_id: int) -> int:
        """Show the branch through ``message_id``: its newest descendant becomes the current leaf."""
        leaf = message_id
        while True:
            rows = self._query("SELECT id FROM messages WHERE parent_id = ? ORDER BY id DESC LIMIT 1", (leaf,))
            if not rows:
                break
            leaf = rows[0][0]
        conversation_id = self.message(message_id).conversation_id
        with self._tx() as tx:
            tx.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id))
        return leaf

    def _message(self, row: sqlite3.Row) -> Message:
        att_rows = self._query(
            "SELECT a.sha256, a.kind, a.mime, a.size, ma.name, ma.tokens FROM message_attachments ma"
            " JOIN attachments a USING (sha256) WHERE ma.message_id = ? ORDER BY ma.position",
            (row["id"],),
        )
        return Message(
            id=row["id"],
            conversation_id=row["conversation_id"],
            parent_id=row["parent_id"],
            role=Role(row["role"]),
            text=row["text"],
            reasoning=row["reasoning"],
            state=MessageState(row["state"]),
            error=row["error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            stats=GenerationStats.from_dict(json.loads(row["stats_json"])),
            attachments=tuple(
                Attachment(sha256=a[0], kind=a[1], mime=a[2], size=a[3], name=a[4], tokens=a[5]) for a in att_rows
            ),
        )

    # --------------------------------------------------------------- attachments
    def add_attachment(self, source: Path, kind: str, *, mime: str = "", tokens: int | None = None) -> Attachment:
        sha, size = self.blobs.put_file(source)
        return Attachment(sha256=sha, kind=kind, name=Path(source).name, size=size, mime=mime, tokens=tokens)

    def attachment_path(self, attachment: Attachment) -> Path:
        return self.blobs.path_for(attachment.sha256)

    # -------------------------------------------------------------------- search
    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        match = fts_query(query)
        if not match:
            return []
        rows = self._query(
            """
            SELECT m.conversation_id, c.title, m.id,
                   snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet
            FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
            JOIN conversations c ON c.id = m.conversation_id
            WHERE messages_fts MATCH ? AND c.deleted_at IS NULL
            ORDER BY rank LIMIT ?
            """,
            (match, limit),
        )
        return [SearchHit(r[0], r[1], r[2], r[3]) for r in rows]

    def search_conversations(self, query: str) -> list[Conversation]:
        """Conversations whose title or any message matches, newest first."""
        ids = {hit.conversation_id for hit in self.search(query, limit=500)}
        needle = query.strip().lower()
        return [c for c in self.conversations() if c.id in ids or (needle and needle in c.title.lower())]

    # ------------------------------------------------------------------ settings
    def setting(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value_json FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO settings(key, value_json) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json",
                (key, json.dumps(value)),
            )

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database (for exports and before risky migrations)."""
        with _friendly_errors(self.db_path):
            dest = sqlite3.connect(target)
            try:
                self._conn.backup(dest)
            finally:
                dest.close()


def fts_query(text: str) -> str:
    """Turn what a person types into a safe FTS5 query: every word must appear, the last as a prefix."""
    words = re.findall(r"\w+", text, flags=re.UNICODE)
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        current_leaf_id=row["current_leaf_id"],
        settings=json.loads(row["settings_json"]),
    )


def quarantine_damaged(db_path: Path) -> Path:
    """Move a damaged database aside (never delete it) so a fresh one can be created."""
    target = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(db_path) + suffix)
        if src.exists():
            shutil.move(src, Path(str(target) + suffix))
    return target
