"""Read-only queries for the conversation sidebar: previews, search snippets, empty conversations.

They take the store's SQLite connection and never write; the store keeps every write. Dates are grouped in
local time, as a person reads them ("Today", "Yesterday", "Previous 7 days", then by month).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from .errors import StoreError
from .store import Store, describe_sqlite_error, fts_query

T = TypeVar("T")

# What snippet() puts around a matched word: control characters no message text uses, so the sidebar can split
# the snippet into plain and highlighted runs without guessing (a model's "[" or "<b>" stays text).
HIT_START, HIT_END = "\x02", "\x03"
PREVIEW_CHARS = 160
PREVIEW_SOURCE_CHARS = 480  # of a message's text read for its preview: enough for 160 after Markdown is dropped
_SNIPPET_TOKENS = 12


@dataclass(frozen=True)
class SidebarRow:
    conversation_id: int
    title: str
    updated_at: float
    source: str  # the latest message's text (its start), or a search hit's snippet
    empty: bool = False  # no message yet
    matched_message_id: int | None = None  # the message a search matched (it may be on another branch)
    attachment: str | None = None  # the file a message without text carries

    @property
    def preview(self) -> str:
        """One line; a search hit's with HIT_START/HIT_END around the matched words. Made when asked:
        the sidebar asks only for the rows it is showing."""
        if self.matched_message_id is not None:
            return self.source
        return preview_line(self.source) or (f"📎 {self.attachment}" if self.attachment else "")


def read_connection(store: Store) -> sqlite3.Connection:
    """The store's connection, used here for reads only (the store owns it and every write)."""
    return store.read_connection()  # what is queued for the writer is on disk first (see there)


def _friendly(query: Callable[..., T]) -> Callable[..., T]:
    """sqlite3 errors become the store's StoreError sentences (locked, damaged…), as for every store call."""

    @functools.wraps(query)
    def run(conn: sqlite3.Connection, *args, **kwargs) -> T:
        try:
            return query(conn, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, _db_path(conn))) from exc

    return run


def _db_path(conn: sqlite3.Connection) -> Path:
    try:
        return Path(conn.execute("PRAGMA database_list").fetchone()[2])
    except (sqlite3.Error, TypeError, IndexError):
        return Path("conversations.sqlite3")


_FENCE = re.compile(r"```[^\n]*")
_LINE_MARK = re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.MULTILINE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*\*|__|`|~~")


def preview_line(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A message as one line of plain words: Markdown marks and code fences dropped, whitespace collapsed."""
    text = _FENCE.sub(" ", text)
    text = _LINE_MARK.sub("", text)
    text = _LINK.sub(r"\1", text)  # links and images: their words
    text = _EMPHASIS.sub("", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_ROWS = """
    SELECT c.id, c.title, c.updated_at,
           NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = c.id) AS empty,
           substr(COALESCE(NULLIF(leaf.text, ''), NULLIF(parent.text, ''), ''), 1, {source}) AS text,
           CASE WHEN leaf.text = '' AND COALESCE(parent.text, '') = '' THEN
               (SELECT name FROM message_attachments WHERE message_id IN (leaf.id, parent.id)
                ORDER BY message_id DESC, position LIMIT 1) END AS attachment
    FROM conversations c
    LEFT JOIN messages leaf ON leaf.id = c.current_leaf_id
    LEFT JOIN messages parent ON parent.id = leaf.parent_id
    WHERE c.deleted_at IS NULL
    ORDER BY c.updated_at DESC, c.id DESC
"""


@_friendly
def sidebar_rows(conn: sqlite3.Connection) -> list[SidebarRow]:
    """Every conversation, newest first, with a line of its latest message on the branch it shows."""
    return [_row(r) for r in conn.execute(_ROWS.format(source=PREVIEW_SOURCE_CHARS))]


def _row(r) -> SidebarRow:
    return SidebarRow(r[0], r[1], r[2], r[4] or "", empty=bool(r[3]), attachment=r[5])


@_friendly
def search_rows(conn: sqlite3.Connection, query: str, limit: int = 500) -> list[SidebarRow]:
    """Conversations whose messages (any branch) or title match, newest first; a message hit carries a
    snippet with the matched words marked and the id of the best-ranked matching message."""
    best: dict[int, tuple[int, str]] = {}
    match = fts_query(query)
    if match:
        hits = conn.execute(
            f"""
            SELECT m.conversation_id, m.id,
                   snippet(messages_fts, 0, ?, ?, '…', {_SNIPPET_TOKENS})
            FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
            WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?
            """,
            (HIT_START, HIT_END, match, limit),
        )
        for conversation_id, message_id, snippet in hits:
            best.setdefault(conversation_id, (message_id, " ".join(snippet.split())))
    needle = query.strip().lower()
    rows = []
    for row in sidebar_rows(conn):
        hit = best.get(row.conversation_id)
        if hit is not None:
            rows.append(SidebarRow(row.conversation_id, row.title, row.updated_at, hit[1], row.empty, hit[0],
                                   row.attachment))
        elif needle and needle in row.title.lower():
            rows.append(row)
    return rows


@_friendly
def empty_conversation(conn: sqlite3.Connection, skip: Collection[int] = ()) -> int | None:
    """The newest untitled conversation without a message (and not in ``skip``), or None."""
    rows = conn.execute(
        "SELECT id FROM conversations c WHERE deleted_at IS NULL AND title = ''"
        " AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = c.id)"
        " ORDER BY updated_at DESC, id DESC"
    ).fetchall()
    ids = [r[0] for r in rows if r[0] not in skip]
    return ids[0] if ids else None


@_friendly
def on_shown_branch(conn: sqlite3.Connection, message_id: int) -> bool:
    """Whether the message is on the branch its conversation shows now (root to current leaf)."""
    row = conn.execute(
        """
        WITH RECURSIVE chain(id, parent_id) AS (
            SELECT m.id, m.parent_id FROM messages m
            JOIN conversations c ON c.current_leaf_id = m.id
            WHERE c.id = (SELECT conversation_id FROM messages WHERE id = ?)
            UNION ALL
            SELECT m.id, m.parent_id FROM messages m JOIN chain ON m.id = chain.parent_id
        )
        SELECT 1 FROM chain WHERE id = ?
        """,
        (message_id, message_id),
    ).fetchone()
    return row is not None


def date_group(timestamp: float, today: date | None = None) -> str:
    """The sidebar heading a conversation last touched at ``timestamp`` goes under."""
    today = today or date.today()
    day = date.fromtimestamp(timestamp)
    if day >= today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day > today - timedelta(days=8):
        return "Previous 7 days"
    return f"{day:%B %Y}"


def split_hits(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as runs of (text, matched), for drawing the matched words highlighted."""
    runs: list[tuple[str, bool]] = []
    for part in re.split(f"({HIT_START}[^{HIT_END}]*{HIT_END})", snippet):
        if part.startswith(HIT_START):
            runs.append((part.strip(HIT_START + HIT_END), True))
        elif part:
            runs.append((part, False))
    return runs
