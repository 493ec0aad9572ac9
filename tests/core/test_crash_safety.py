"""Kill a process that is streaming an answer into the store, at many random points.

The database must always open, no conversation may be lost, and at most one second of
streamed text may be missing (what was appended in the last second before the kill).
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mimo_desktop.core.conversation import MessageState
from mimo_desktop.core.store import INTERRUPTED, Store
from mimo_desktop.core.streaming import FLUSH_INTERVAL_S

CHILD = Path(__file__).with_name("stream_child.py")
KILLS = 12
# Scheduling slack between the child's clock read and its append; the guarantee itself is FLUSH_INTERVAL_S.
SLACK_S = 0.25


def _run_and_kill(home: Path, seed: int, delay: float) -> tuple[list[tuple[float, int]], float]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(home), str(seed)], stdout=subprocess.PIPE, text=True, env=env
    )
    first = proc.stdout.readline()
    assert first.startswith("ready"), first
    appended: list[tuple[float, int]] = []

    def read() -> None:
        for line in proc.stdout:
            t, i = line.split()
            appended.append((float(t), int(i)))

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(delay)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    return appended, killed_at


@pytest.mark.slow
def test_sigkill_while_streaming_loses_at_most_one_second(tmp_path):
    rng = random.Random(20261126)
    home = tmp_path / "home"
    for seed in range(KILLS):
        delay = rng.uniform(0.05, 3.0)
        appended, killed_at = _run_and_kill(home, seed, delay)

        store = Store.open(home)  # must always open
        conversations = store.conversations()
        assert len(conversations) == seed + 1, "a conversation was lost"
        thread = store.thread(conversations[0].id)
        assert thread[0].text == f"question {seed}"
        answer = thread[-1] if len(thread) == 2 else None
        store.close()
        if answer is None:
            continue  # killed before the answer row was committed: nothing had been streamed yet

        saved = answer.text
        assert answer.state is MessageState.STOPPED and answer.error == INTERRUPTED
        assert len(saved) % 7 == 0, f"saved text ends mid-chunk: {saved[-10:]!r}"
        saved_chunks = len(saved) // 7
        assert saved == "".join(f"<{i:05d}>" for i in range(saved_chunks)), "saved text is not a clean prefix"
        missing = [t for t, i in appended if i >= saved_chunks]
        if missing:
            oldest_missing = min(missing)
            assert killed_at - oldest_missing <= FLUSH_INTERVAL_S + SLACK_S, (
                f"run {seed}: {len(missing)} deltas lost, the oldest appended "
                f"{killed_at - oldest_missing:.2f}s before the kill"
            )
