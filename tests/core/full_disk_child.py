"""Child process for the full-disk start test, run inside its own mount namespace on a 1 MiB tmpfs.

Writes a small history, fills the disk to the last byte, then starts the store again and prints
what it could do, as JSON.
"""

import json
import sys
from pathlib import Path

from disk_fill import fill_disk

from mimo_desktop.core.conversation import Role
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store


def main() -> None:
    disk = Path(sys.argv[1])
    home = disk / "home"
    store = Store.open(home)
    for title in ("first", "second"):
        conv = store.create_conversation(title)
        store.add_message(conv.id, Role.USER, f"hello from {title}")
    store.close()
    fill_disk(disk)
    store = Store.open(home)
    result = {"read_only": store.read_only_reason,
              "threads": [[m.text for m in store.thread(c.id)] for c in store.conversations()]}
    try:
        store.create_conversation("new")
        result["write"] = "written"
    except StoreError as exc:
        result["write"] = str(exc)
    store.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
