"""ProgressTracker: totals, rate over a sliding window, throttling, listeners; the one-line rendering."""

from __future__ import annotations

from mimo_desktop.models.progress import DownloadProgress, FileProgress, ProgressTracker
from mimo_desktop.models.units import format_bytes, format_duration

MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_totals_count_what_earlier_attempts_fetched() -> None:
    tracker = ProgressTracker({"a": 10 * MIB, "b": 5 * MIB}, {"a": 4 * MIB, "b": 5 * MIB}, interval_s=0)
    snapshot = tracker.emit("downloading")
    assert (snapshot.done_bytes, snapshot.total_bytes) == (9 * MIB, 15 * MIB)
    assert (snapshot.files_done, snapshot.files_total) == (1, 2)


def test_rate_and_eta_follow_the_last_seconds() -> None:
    clock = Clock()
    tracker = ProgressTracker({"a": 100 * MIB}, {}, interval_s=0, clock=clock)
    tracker.file_started("a", 0)
    for _ in range(10):  # 10 s at 2 MiB/s
        clock.now += 1
        tracker.add_bytes("a", 2 * MIB)
    for _ in range(5):  # then 5 s at 8 MiB/s: the 5 s window sees only the new speed
        clock.now += 1
        tracker.add_bytes("a", 8 * MIB)
    snapshot = tracker.emit("downloading")
    assert snapshot.bytes_per_second == 8 * MIB
    assert snapshot.done_bytes == 60 * MIB
    assert snapshot.eta_seconds == 5.0
    assert snapshot.active == (FileProgress("a", 60 * MIB, 100 * MIB, "downloading"),)


def test_listeners_are_throttled_but_file_events_always_go_out() -> None:
    clock = Clock()
    tracker = ProgressTracker({"a": 10, "b": 10}, {}, interval_s=0.5, clock=clock)
    seen: list[DownloadProgress] = []
    unsubscribe = tracker.subscribe(seen.append)
    tracker.file_started("a", 0)  # forced
    tracker.add_bytes("a", 1)  # within 0.5 s: dropped
    clock.now += 0.6
    tracker.add_bytes("a", 1)  # emitted
    tracker.file_finished("a")  # forced
    unsubscribe()
    tracker.file_started("b", 0)
    assert [s.done_bytes for s in seen] == [0, 2, 10]
    assert seen[-1].files_done == 1 and seen[-1].active == ()


def test_a_restarted_file_takes_its_bytes_back() -> None:
    tracker = ProgressTracker({"a": 10}, {"a": 6}, interval_s=0)
    tracker.file_started("a", 6)
    tracker.add_bytes("a", -6)
    tracker.add_bytes("a", 10)
    assert tracker.emit("downloading").done_bytes == 10


def test_line_reads_like_a_status_bar() -> None:
    progress = DownloadProgress(
        state="downloading", done_bytes=150 * 1024**3, total_bytes=300 * 1024**3, files_done=70, files_total=145,
        bytes_per_second=100 * MIB, active=(FileProgress("model-00071-of-00145.safetensors", 1, 2, "downloading"),
                                            FileProgress("model-00072-of-00145.safetensors", 1, 2, "downloading")),
    )
    assert progress.line() == (
        " 50.0%  150.0 GiB of 300.0 GiB  files 70/145  100.0 MiB/s, 25 min 36 s left  "
        "model-00071-of-00145.safetensors (+1)"
    )


def test_units() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * 1024**3)] == ["0 B", "1023 B", "1.5 KiB", "5.0 GiB"]
    assert [format_duration(s) for s in (0, 75, 3725)] == ["0 s", "1 min 15 s", "1 h 02 min"]
