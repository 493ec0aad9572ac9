"""ui/background.py: a function off the GUI thread, its result on the GUI thread, cooperative stop, ordered shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from mimo_desktop.ui.background import Background


@pytest.fixture
def runner(qtbot):
    bg = Background(max_workers=2)
    yield bg
    bg.shutdown()


def test_result_and_progress_arrive_on_the_gui_thread(qtbot, runner):
    seen: list = []
    gui = QThread.currentThread()

    def work(n, task):
        for i in range(n):
            task.report(i)
        return threading.current_thread().name

    runner.run(work, 3, on_done=lambda r: seen.append(("done", r, QThread.currentThread() is gui)),
               on_progress=lambda v: seen.append(("progress", v, QThread.currentThread() is gui)))
    qtbot.waitUntil(lambda: any(s[0] == "done" for s in seen), timeout=5000)
    assert [s[1] for s in seen if s[0] == "progress"] == [0, 1, 2]
    done = [s for s in seen if s[0] == "done"][0]
    assert done[1].startswith("mimo-bg") and all(s[2] for s in seen)


def test_an_exception_goes_to_on_error(qtbot, runner):
    errors: list = []
    runner.run(lambda: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)


def test_cancel_stops_a_running_task_and_drops_its_result(qtbot, runner):
    started, returned, results = threading.Event(), threading.Event(), []

    def slow(task):
        started.set()
        try:
            while not task.stopping:
                time.sleep(0.01)
            return "late"
        finally:
            returned.set()

    task = runner.run(slow, on_done=results.append)
    assert started.wait(5)
    with qtbot.waitSignal(runner.busyChanged, timeout=2000):
        task.cancel()
    assert not runner.is_busy()
    done = []
    # a sentinel that ends after the cancelled task returned: its result is delivered after any late one
    runner.run(lambda: returned.wait(5), on_done=done.append)
    qtbot.waitUntil(lambda: done == [True], timeout=5000)
    assert results == []


def test_shutdown_stops_running_work_waits_for_it_and_delivers_nothing(qtbot):
    runner = Background(max_workers=1)
    started, finished, results = threading.Event(), threading.Event(), []

    def slow(task):
        started.set()
        task.stop_event.wait(10)
        finished.set()
        return "x"

    runner.run(slow, on_done=results.append)
    runner.run(lambda: results.append("queued ran"))
    assert started.wait(5)
    t0 = time.monotonic()
    runner.shutdown()
    assert finished.is_set() and time.monotonic() - t0 < 5  # waited for it, and it stopped early
    qtbot.wait(100)
    assert results == []  # neither the stopped result nor the queued task
    with pytest.raises(RuntimeError):
        runner.run(lambda: None)


def test_shutdown_can_let_queued_work_finish(qtbot):
    runner = Background(max_workers=1)
    started, release, ran = threading.Event(), threading.Event(), []

    def first(task):
        started.set()
        release.wait(5)
        ran.append(("first", task.stopping))

    runner.run(first)
    runner.run(lambda: ran.append(("queued", False)))
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    runner.shutdown(cancel_queued=False)
    assert ran == [("first", False), ("queued", False)]  # not told to stop, and the queued one still ran
