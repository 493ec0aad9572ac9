"""A database locked by another program while an answer streams: the worst stall of the streaming
thread (the GUI thread in the app), and what reaches the disk.

Another process (tests/core/db_locker.py) holds SQLite's exclusive lock for ``--lock-s`` seconds
while a loop on this thread appends a 7-character delta every 4 ms (about 250 tokens/s) through
a StreamWriter, which flushes once a second. Two stores, alternating, same loop:

- baseline: the previous design, each flush a transaction on the streaming thread's own connection
  (SQLite's busy timeout 2 s, as the app used), the way Store.update_message wrote before the writer;
- app: the Store with its DbWriter thread (updates queued, retried off the streaming thread).

Prints the worst gap between two loop turns (what a user feels as a frozen window), and how much of
the answer is missing on disk once the lock is gone, for a lock that goes mid-answer and for one
held across the answer's end.

    .venv/bin/python bench/store_lock.py [--lock-s 4] [--runs 2]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mimo_desktop.core.conversation import MessageState, Role  # noqa: E402
from mimo_desktop.core.store import Store  # noqa: E402
from mimo_desktop.core.streaming import StreamWriter  # noqa: E402

LOCKER = ROOT / "tests" / "core" / "db_locker.py"


class SynchronousWrites:
    """The baseline: the old Store.update_message, a transaction on the caller's thread."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(db_path, timeout=2.0, isolation_level=None)
        self.conn.execute("PRAGMA synchronous = FULL")
        self.failed = 0

    def update_message(self, message_id: int, **fields) -> None:
        fields = {k: (v.value if isinstance(v, MessageState) else v) for k, v in fields.items()
                  if v is not None and k in ("text", "reasoning", "state")}
        sets = ", ".join(f"{k} = ?" for k in fields)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"UPDATE messages SET {sets} WHERE id = ?", (*fields.values(), message_id))
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.failed += 1  # the old StreamWriter kept the text and retried at the next flush

    def close(self) -> None:
        self.conn.close()


def one_run(kind: str, lock_s: float, across_end: bool) -> tuple[float, int, float]:
    """Worst stall (s), characters of the answer missing on disk at the end, seconds to drain."""
    with tempfile.TemporaryDirectory(prefix="mimo-bench-lock-") as tmp:
        store = Store.open(Path(tmp) / "home")
        conv = store.create_conversation("bench")
        answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
        target = SynchronousWrites(store.db_path) if kind == "baseline" else store
        writer = StreamWriter(target, answer.id)  # type: ignore[arg-type]
        locker = subprocess.Popen([sys.executable, str(LOCKER), str(store.db_path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert locker.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        released = False
        worst, last, i = 0.0, time.monotonic(), 0
        # across the end: the answer ends a second before the lock goes; else it goes on 1.5 s after
        end = locked_at + (lock_s - 1.0 if across_end else lock_s + 1.5)
        while (now := time.monotonic()) < end:
            worst = max(worst, now - last)
            last = now
            if not released and now - locked_at >= lock_s:
                locker.stdin.write("\n")
                locker.stdin.flush()
                released = True
            writer.append(f"<{i:05d}>")
            i += 1
            time.sleep(0.004)
        if across_end:
            before = time.monotonic()
            writer.finish(MessageState.COMPLETE)  # under the lock
            worst = max(worst, time.monotonic() - before)
            time.sleep(max(0.0, locked_at + lock_s - time.monotonic()))
        if not released:  # the lock goes (the baseline can also stall past the end of the loop)
            locker.stdin.write("\n")
            locker.stdin.flush()
        locker.wait(10)
        if not across_end:
            writer.finish(MessageState.COMPLETE)
        flushed_at = time.monotonic()
        store.wait_written(10)
        drain_s = time.monotonic() - flushed_at
        if kind == "baseline":
            target.close()
        check = sqlite3.connect(store.db_path)
        on_disk = check.execute("SELECT text FROM messages WHERE id = ?", (answer.id,)).fetchone()[0]
        check.close()
        store.close()
        return worst, len(writer.text) - len(on_disk), drain_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lock-s", type=float, default=4.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    for across_end in (False, True):
        results: dict[str, list[tuple[float, int, float]]] = {"baseline": [], "app": []}
        for _ in range(args.runs):
            for kind in results:
                results[kind].append(one_run(kind, args.lock_s, across_end))
        where = "the answer ends 1 s before the lock goes" if across_end else "the lock goes mid-answer"
        print(f"lock held {args.lock_s:g} s while streaming ~250 deltas/s; {where}; {args.runs} run(s) each")
        for kind, runs in results.items():
            worst = max(r[0] for r in runs)
            lost = max(r[1] for r in runs)
            print(f"  {kind:9s} worst stall {worst * 1000:8.1f} ms   characters missing on disk at the end: {lost}")
        ratio = max(r[0] for r in results["baseline"]) / max(max(r[0] for r in results["app"]), 1e-6)
        print(f"  ratio (baseline / app worst stall): {ratio:.0f}x")


if __name__ == "__main__":
    main()
