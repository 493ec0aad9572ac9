"""Child process for the crash test: streams an answer into the store the way the app does.

Prints `ready <message_id>` once the message exists, then for each delta
`<monotonic time> <chunk index>` *after* appending it, so the parent knows what was
handed to the writer and when.
"""

import sys
import time
from pathlib import Path

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.core.store import Store
from mimo_desktop.core.streaming import StreamWriter


def chunk(i: int) -> str:
    return f"<{i:05d}>"


def main() -> None:
    home, seed = Path(sys.argv[1]), int(sys.argv[2])
    store = Store.open(home)
    conv = store.create_conversation(f"run {seed}")
    store.add_message(conv.id, Role.USER, f"question {seed}")
    msg = store.add_message(conv.id, Role.ASSISTANT, "", state=MessageState.STREAMING)
    writer = StreamWriter(store, msg.id)
    print(f"ready {msg.id}", flush=True)
    i = 0
    while True:
        writer.append(chunk(i))
        print(f"{time.monotonic():.6f} {i}", flush=True)
        i += 1
        time.sleep(0.004)  # ~250 deltas a second, like a fast engine


if __name__ == "__main__":
    main()
