"""The sidebar with a long history: how long the GUI thread spends refreshing it and searching it.

Seeds N conversations (two messages each, over 90 days) into a temporary data folder, then times on the GUI
thread, best of several runs:
  - the sidebar's query (titles, previews, empty flags) against the plain title list the old sidebar used;
  - filling the list widget (date headings, rows) from it;
  - a search as you type (FTS5 snippet per hit) against the old title-only search query.

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


def fill_all(app, widget, rows) -> tuple[float, float]:
    """Refresh, then run the event loop until every row is in: total time and the longest single turn."""
    widget.show_rows(rows, rows[0].conversation_id)
    start, longest = time.perf_counter(), 0.0
    while widget.filling:
        turn = time.perf_counter()
        app.processEvents()
        longest = max(longest, time.perf_counter() - turn)
    return (time.perf_counter() - start) * 1000, longest * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from mimo_desktop.core import queries
    from mimo_desktop.core.store import Store
    from mimo_desktop.ui.conversation_list import ConversationList

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
    rest_ms, longest_ms = fill_all(app, widget, rows)
    old_search_ms = best(lambda: store.search_conversations("sparr"))
    search_ms = best(lambda: queries.search_rows(conn, "sparr"))
    hits = len(queries.search_rows(conn, "sparr"))
    n = args.conversations
    print(f"conversations={n} headings={len(widget.headings())}")
    print(f"titles only (old sidebar query)   {titles_ms:7.1f} ms")
    print(f"sidebar rows with previews        {rows_ms:7.1f} ms  ({rows_ms / titles_ms:.2f}x)")
    print(f"fill the list, first chunk        {fill_ms:7.1f} ms")
    print(f"refresh blocks the GUI (query + first chunk) {rows_ms + fill_ms:7.1f} ms")
    print(f"the other rows, in later turns    {rest_ms:7.1f} ms in all, longest turn {longest_ms:.1f} ms")
    print(f"search, old (ids + titles)        {old_search_ms:7.1f} ms")
    print(f"search with snippets ({hits} hits)  {search_ms:7.1f} ms  ({search_ms / old_search_ms:.2f}x)")
    store.close()


if __name__ == "__main__":
    main()
