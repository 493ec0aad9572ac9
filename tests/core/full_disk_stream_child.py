"""Child process for the full-disk streaming test, inside its own mount namespace on a 1 MiB tmpfs.

Streams an answer into the store while the disk is full to the last byte, then frees the space,
and prints as JSON what the writer said and what reached the file (the tmpfs goes with the process,
so the checks run here).
"""

import json
import sqlite3
import sys
import threading
from pathlib import Path

from disk_fill import fill_disk

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.core.store import Store
from mimo_desktop.core.streaming import StreamWriter


def on_disk(db_path: Path, message_id: int) -> tuple[str, str]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT text, state FROM messages WHERE id = ?", (message_id,)).fetchone()
    finally:
        conn.close()


def main() -> None:
    disk = Path(sys.argv[1])
    store = Store.open(disk / "home")
    seen, full = [], threading.Event()

    def on_status(status) -> None:
        seen.append(store.status_sentence(status))
        if status.state == "full":
            full.set()

    store.on_status = on_status
    conv = store.create_conversation("a full disk")
    answer = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    filler = fill_disk(disk)
    writer = StreamWriter(store, answer.id, interval_s=0.0)
    for i in range(3000):
        writer.append(f"word{i} ")
    writer.finish(MessageState.COMPLETE)
    result = {"full_seen": full.wait(30), "during": on_disk(store.db_path, answer.id)}
    filler.unlink()  # space again
    result["drained"] = store.wait_written(30)
    result["after"] = on_disk(store.db_path, answer.id)
    result["expected"] = writer.text
    result["said"] = seen
    store.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
