"""The conversation store: SQLite (WAL, foreign keys, migrations, FTS5) plus content-addressed attachments.

One thread owns a Store (the GUI thread in the app) and reads on its own connection (WAL: readers
never wait for a writer). Every write goes through one DbWriter thread: updates are queued and
return at once (reads see them before they reach the disk), inserts wait for their new id but give
up quickly when the database is locked or the disk is full. Every sqlite3 error becomes a StoreError
with a sentence the user can act on.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Sequence
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
from .opening import INTERRUPTED, open_for_writing, open_read_only
from .recovery import (
    describe_sqlite_error,
    friendly_errors,
    quarantine_damaged,
    write_unsaved,
)
from .writer import FULL, DbWriter, WriterStatus, WriterStuck, classify, disk_full

__all__ = ["Store", "StoreError", "describe_sqlite_error", "quarantine_damaged", "fts_query", "INTERRUPTED"]

CURRENT_LEAF = object()  # add_message default: under the conversation's current leaf


READ_ONLY_FULL = (
    "The disk holding {folder} is full, so the history is open read only: you can read and export your "
    "conversations, but nothing new is saved. Free some space and restart MiMo Desktop."
)
CLOSE_DRAIN_S = 5.0
READ_DRAIN_S = 5.0  # a healthy but slow disk (fsync under load): how long a read waits for queued writes  # on close, how long to keep retrying a locked database or a full disk


class Store:
    def __init__(self, conn: sqlite3.Connection, db_path: Path, blobs: BlobStore, *,
                 read_only_reason: str = "") -> None:
        self._conn = conn
        self.db_path = db_path
        self.blobs = blobs
        self.read_only_reason = read_only_reason  # why writes are refused, "" when they are not
        self.replayed = 0  # updates the last session could not write, written at this start
        self._writer: DbWriter | None = None
        # called, on the writer's thread, whenever writing gets stuck (locked, full) or recovers
        self.on_status: Callable[[WriterStatus], None] | None = None

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, home: Path | None = None, *, busy_timeout_s: float = 2.0) -> Store:
        home = Path(home) if home is not None else paths.data_home()
        db_path = paths.database_path(home)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"MiMo Desktop cannot create its data folder {home}: {exc.strerror}.") from None
        blobs = BlobStore(paths.attachments_dir(home))
        try:
            conn, replayed = open_for_writing(db_path, busy_timeout_s)
        except sqlite3.Error as exc:
            if not db_path.exists() or not (classify(exc) == FULL or disk_full(db_path.parent)):
                raise StoreError(describe_sqlite_error(exc, db_path)) from exc
            return cls(open_read_only(db_path), db_path, blobs,
                       read_only_reason=READ_ONLY_FULL.format(folder=db_path.parent))
        store = cls(conn, db_path, blobs)
        store.replayed = replayed
        try:
            store._writer = DbWriter(db_path, on_status=store._status_changed)
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(describe_sqlite_error(exc, db_path)) from exc
        return store

    def close(self) -> None:
        """Write what is queued (retrying a few seconds), then close. Raises StoreError, after closing,
        when something could not be written: it is then kept beside the database for the next start."""
        writer, self._writer = self._writer, None
        left = writer.close(CLOSE_DRAIN_S) if writer is not None else {}
        status = writer.status if writer is not None else None
        with friendly_errors(self.db_path):
            self._conn.close()
        if not left:
            return
        said = status.sentence(self.db_path) if status is not None else ""
        try:
            kept = write_unsaved(self.db_path, left)
        except OSError as exc:
            raise StoreError(f"{said} On closing, {len(left)} change(s) could not be saved anywhere "
                             f"({exc.strerror}): they are lost.") from None
        raise StoreError(f"{said} On closing, {len(left)} change(s) could not be written yet: they are "
                         f"kept in {kept} and written at the next start.")

    # ------------------------------------------------------------- write status
    def _status_changed(self, status: WriterStatus) -> None:
        callback = self.on_status
        if callback is not None:
            callback(status)

    @property
    def write_status(self) -> WriterStatus:
        return self._writer.status if self._writer is not None else WriterStatus("ok")

    def status_sentence(self, status: WriterStatus) -> str:
        return status.sentence(self.db_path)

    def read_connection(self) -> sqlite3.Connection:
        """The reading connection, for queries of their own (the sidebar's). They do not see queued
        updates, so what is queued is written first while the disk takes it (a commit's few milliseconds,
        as when the GUI thread wrote itself); a lock or a full disk is never waited for: the reader then
        sees what is on disk, and the notice says why the rest is not."""
        if self._writer is not None:
            self._writer.drain(READ_DRAIN_S, unless_stuck=True)
        return self._conn

    def wait_written(self, timeout_s: float = 5.0) -> bool:
        """Until every queued write is on disk (tests, exports, the self-test); False on timeout."""
        return self._writer.drain(timeout_s) if self._writer is not None else True

    def on_writer(self, fn: Callable[[sqlite3.Connection], Any], *, front: bool = False) -> Any:
        """Run ``fn`` on the writer's connection, in order with the writes or (``front``) before those
        queued (maintenance such as PRAGMAs, tests)."""
        return self._call(fn, front=front)

    def _call(self, fn: Callable[[sqlite3.Connection], Any], *, front: bool = False) -> Any:
        if self._writer is None:
            raise StoreError(self.read_only_reason or "The conversation database is closed.")
        try:
            return self._writer.call(fn, front=front)
        except WriterStuck as exc:
            raise StoreError(exc.status.refusal(self.db_path)) from None
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.db_path)) from exc

    def _queue(self, table: str, row_id: Any, fields: dict[str, Any]) -> None:
        if self._writer is None:
            raise StoreError(self.read_only_reason or "The conversation database is closed.")
        self._writer.update(table, row_id, fields)

    def _pending(self, table: str, row_id: Any) -> dict[str, Any] | None:
        return self._writer.pending(table, row_id) if self._writer is not None else None

    def _pending_rows(self, table: str) -> dict[Any, dict[str, Any]]:
        return self._writer.pending_rows(table) if self._writer is not None else {}

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with friendly_errors(self.db_path):
            return self._conn.execute(sql, args).fetchall()

    # ------------------------------------------------------------- conversations
    def create_conversation(self, title: str = "", settings: dict[str, Any] | None = None) -> Conversation:
        now = time.time()
        conversation_id = self._call(lambda tx: tx.execute(
            "INSERT INTO conversations(title, created_at, updated_at, settings_json) VALUES (?, ?, ?, ?)",
            (title, now, now, json.dumps(settings or {})),
        ).lastrowid)
        return self.conversation(conversation_id)

    # Reads take the queued updates *before* the rows: an update committed in between is then in one or
    # the other, never in neither (the writer drops it from the queue only once it is on disk).
    def conversation(self, conversation_id: int) -> Conversation:
        pending = self._pending("conversations", conversation_id)
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise StoreError(f"Conversation {conversation_id} does not exist.")
        return _conversation(rows[0], pending)

    def conversations(self) -> list[Conversation]:
        pending = self._pending_rows("conversations")
        rows = self._query("SELECT * FROM conversations ORDER BY updated_at DESC, id DESC")
        convs = [_conversation(r, pending.get(r["id"])) for r in rows]
        convs = [c for c, r in zip(convs, rows) if _field(r, pending.get(r["id"]), "deleted_at") is None]
        if pending:  # a queued rename moved a conversation up
            convs.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        return convs

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._queue("conversations", conversation_id, {"title": title.strip(), "updated_at": time.time()})

    def set_conversation_settings(self, conversation_id: int, settings: dict[str, Any]) -> None:
        self._queue("conversations", conversation_id, {"settings_json": json.dumps(settings)})

    def delete_conversation(self, conversation_id: int) -> None:
        """Hide a conversation; `restore_conversation` undoes it until `purge_deleted` runs."""
        self._queue("conversations", conversation_id, {"deleted_at": time.time()})

    def restore_conversation(self, conversation_id: int) -> None:
        self._queue("conversations", conversation_id, {"deleted_at": None})

    def purge_deleted(self) -> int:
        return self._call(lambda tx: tx.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount)

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

        def insert(tx: sqlite3.Connection) -> int | None:
            parent = parent_id
            if parent is CURRENT_LEAF:
                row = tx.execute(
                    "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                if row is None:
                    return None
                parent = row[0]
            cur = tx.execute(
                "INSERT INTO messages(conversation_id, parent_id, role, text, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, parent, Role(role).value, text, MessageState(state).value, now, now),
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
            return message_id

        message_id = self._call(insert)
        if message_id is None:
            raise StoreError(f"Conversation {conversation_id} does not exist.")
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
        """Queue the change: it reaches the disk in order, retried while the database is locked or full."""
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
        self._queue("messages", message_id, fields)

    def message(self, message_id: int) -> Message:
        pending = self._pending_rows("messages")
        rows = self._query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise StoreError(f"Message {message_id} does not exist.")
        return self._message(rows[0], pending)

    def thread(self, conversation_id: int, leaf_id: int | None = None) -> list[Message]:
        """The messages from the root to ``leaf_id`` (default: the current leaf): what the user sees."""
        if leaf_id is None:
            leaf_id = self.conversation(conversation_id).current_leaf_id
        if leaf_id is None:
            return []
        pending = self._pending_rows("messages")
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
        return [self._message(r, pending) for r in rows]

    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation, all branches, in the order they were written."""
        pending = self._pending_rows("messages")
        rows = self._query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,))
        return [self._message(r, pending) for r in rows]

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
        self._call(lambda tx: tx.execute(
            "UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id)))
        return leaf

    def _message(self, row: sqlite3.Row, queued: dict[Any, dict[str, Any]]) -> Message:
        pending = queued.get(row["id"])
        if pending:  # a queued update not on disk yet: show it as it will be
            row = {**{k: row[k] for k in row.keys()}, **pending}  # type: ignore[assignment]
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
        self.read_connection()  # text queued a moment ago is found too (never waits on a stuck writer)
        pending = self._pending_rows("conversations")
        rows = self._query(
            """
            SELECT m.conversation_id, c.title, m.id,
                   snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet, c.deleted_at
            FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
            JOIN conversations c ON c.id = m.conversation_id
            WHERE messages_fts MATCH ?
            ORDER BY rank LIMIT ?
            """,
            (match, limit),
        )
        return [SearchHit(r[0], _field(r, pending.get(r[0]), "title"), r[2], r[3]) for r in rows
                if _field(r, pending.get(r[0]), "deleted_at") is None][:limit]

    def search_conversations(self, query: str) -> list[Conversation]:
        """Conversations whose title or any message matches, newest first."""
        ids = {hit.conversation_id for hit in self.search(query, limit=500)}
        needle = query.strip().lower()
        return [c for c in self.conversations() if c.id in ids or (needle and needle in c.title.lower())]

    # ------------------------------------------------------------------ settings
    def setting(self, key: str, default: Any = None) -> Any:
        pending = self._pending("settings", key)
        if pending is not None:
            return json.loads(pending["value_json"])
        rows = self._query("SELECT value_json FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        self._queue("settings", key, {"value_json": json.dumps(value)})

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the database (for exports and before risky migrations)."""
        self.wait_written()
        with friendly_errors(self.db_path):
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


def _field(row: sqlite3.Row, pending: dict[str, Any] | None, name: str) -> Any:
    return pending[name] if pending and name in pending else row[name]


def _conversation(row: sqlite3.Row, pending: dict[str, Any] | None = None) -> Conversation:
    return Conversation(
        id=row["id"],
        title=_field(row, pending, "title"),
        created_at=row["created_at"],
        updated_at=_field(row, pending, "updated_at"),
        current_leaf_id=row["current_leaf_id"],
        settings=json.loads(_field(row, pending, "settings_json")),
    )
