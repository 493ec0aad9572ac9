"""The sidebar with a long history: how long the GUI thread spends refreshing it and searching it.

Seeds N conversations (two messages each, over 90 days) into a temporary data folder, then times on the GUI
thread, best of several runs:
  - the sidebar's query (titles, previews, empty flags) against the plain title list the old sidebar used;
  - filling the list widget (date headings, rows) from it;
  - a search as you type (FTS5 snippet per hit) against the old title-only search query;
  - writing the drafts file while typing (no fsync) and at quitting (fsync).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_sidebar.py [--conversations 2000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

WORDS = ("tide robin zebra sparrow lake photo clip memo coast harbour sourdough starter borrow checker "
         "train tram bicycle garden kettle window mountain river lantern orchard meadow").split()


def seed(store, count: int) -> None:
    from mimo_desktop.core.conversation import Role

    rng = random.Random(7)
    conn = store._conn  # noqa: SLF001 (seeding only: no fsync per row)
    conn.execute("PRAGMA synchronous = OFF")
    for i in range(count):
        conv = store.create_conversation(" ".join(rng.choice(WORDS) for _ in range(4)).capitalize())
        store.add_message(conv.id, Role.USER, " ".join(rng.choice(WORDS) for _ in range(20)) + "?")
        store.add_message(conv.id, Role.ASSISTANT, " ".join(rng.choice(WORDS) for _ in range(120)) + ".")
        conn.execute("UPDATE conversations SET updated_at = updated_at - ? WHERE id = ?",
                     (rng.uniform(0, 90) * 86400, conv.id))
    conn.execute("PRAGMA synchronous = FULL")


def best(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def draft_saves(home: Path, durable: bool, runs: int = 40) -> tuple[float, float]:
    from mimo_desktop.core.drafts import Draft, DraftBook

    book = DraftBook(home)
    for i in range(50):
        book.put(i, Draft("a question about the lake photo, half typed " * 6))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        book.save(durable=durable)
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[runs // 2], max(times)


def fill_all(app, widget, rows) -> tuple[float, list[float]]:
    """Refresh, then run the event loop until every row is in: total time and each turn's time (ms)."""
    widget.show_rows(rows, rows[0].conversation_id)
    start, turns = time.perf_counter(), []
    while widget.filling:
        turn = time.perf_counter()
        app.processEvents()
        turns.append((time.perf_counter() - turn) * 1000)
    return (time.perf_counter() - start) * 1000, sorted(turns)


def old_sidebar_fill(conversations) -> None:
    """What the old sidebar did on every refresh: one plain item per conversation, all at once."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidget, QListWidgetItem

    lst = QListWidget()
    for conv in conversations:
        item = QListWidgetItem(conv.title or "New conversation")
        item.setData(Qt.ItemDataRole.UserRole, conv.id)
        item.setToolTip(conv.title or "New conversation")
        lst.addItem(item)
    lst.deleteLater()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from mimo_desktop.core import queries
    from mimo_desktop.core.store import Store
    from mimo_desktop.ui.sidebar.conversation_list import ConversationList

    app = QApplication([])
    store = Store.open(Path(tempfile.mkdtemp(prefix="mimo-bench-")))
    seed(store, args.conversations)
    conn = queries.read_connection(store)
    widget = ConversationList()
    widget.resize(260, 700)
    widget.show()
    app.processEvents()
    rows = queries.sidebar_rows(conn)
    titles_ms = best(store.conversations)
    rows_ms = best(lambda: queries.sidebar_rows(conn))
    fill_ms = best(lambda: widget.show_rows(rows, rows[0].conversation_id))  # the first chunk: what blocks
    rest_ms, turns = fill_all(app, widget, rows)
    convs = store.conversations()
    old_fill_ms = best(lambda: old_sidebar_fill(convs))
    old_search_ms = best(lambda: store.search_conversations("sparr"))
    search_ms = best(lambda: queries.search_rows(conn, "sparr"))
    hits = len(queries.search_rows(conn, "sparr"))
    n = args.conversations
    print(f"conversations={n} headings={len(widget.headings())}")
    print(f"old sidebar: titles query + fill  {titles_ms + old_fill_ms:7.1f} ms  (all in one turn)")
    print(f"sidebar rows with previews        {rows_ms:7.1f} ms  ({rows_ms / titles_ms:.2f}x the titles query)")
    print(f"fill the list, first chunk        {fill_ms:7.1f} ms")
    print(f"refresh blocks the GUI (query + first chunk) {rows_ms + fill_ms:7.1f} ms")
    print(f"the other rows, in later turns    {rest_ms:7.1f} ms in all, {len(turns)} turns: median"
          f" {turns[len(turns) // 2]:.1f} ms, 90th percentile {turns[len(turns) * 9 // 10]:.1f} ms,"
          f" longest {turns[-1]:.1f} ms")
    print(f"search, old (ids + titles)        {old_search_ms:7.1f} ms")
    print(f"search with snippets ({hits} hits)  {search_ms:7.1f} ms  ({search_ms / old_search_ms:.2f}x)")
    for durable in (False, True):
        median, longest = draft_saves(store.db_path.parent, durable)
        print(f"save 50 drafts{' + fsync (at quit)' if durable else ' (while typing)  '}  median {median:5.1f} ms,"
              f" longest {longest:5.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
