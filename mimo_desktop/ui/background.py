"""The one way to run work off the GUI thread: a function on a small pool, its result on the GUI thread.

Anki's ``run_in_background`` / superqt's ``thread_worker`` pattern: ``run(fn, ...)`` calls ``fn`` on a
worker thread; ``on_done(result)`` or ``on_error(exception)`` then runs on the GUI thread, delivered
by a signal connected with an explicit ``Qt.QueuedConnection`` to a bound ``@Slot`` (a lambda on a
cross-thread signal would run on the worker). ``fn`` may take a ``task`` keyword: ``task.stopping``
tells it to give up (cooperative stop: set by ``cancel`` and at shutdown), ``task.report(value)``
sends progress to ``on_progress`` on the GUI thread. ``shutdown`` stops taking work, asks running
tasks to stop, drops queued ones (unless told to let them run), waits and delivers nothing after it returns.
"""

from __future__ import annotations

import inspect
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class Task:
    """One piece of background work: its stop flag, its progress channel, its callbacks."""

    def __init__(self, runner: Background, task_id: int, on_done, on_error, on_progress) -> None:
        self.id = task_id
        self._runner = runner
        self._stop = threading.Event()
        self.on_done, self.on_error, self.on_progress = on_done, on_error, on_progress
        self.future: Future | None = None

    @property
    def stop_event(self) -> threading.Event:
        """For code that takes a ``threading.Event`` (the media layer's ``stop``)."""
        return self._stop

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def report(self, value: Any) -> None:
        """Progress, from the worker thread; ``on_progress(value)`` hears it on the GUI thread."""
        if self.on_progress is not None and not self._stop.is_set():
            self._runner._progress.emit(self.id, value)

    def cancel(self) -> None:
        """Ask the function to stop and drop its result; a task still queued never starts."""
        self._runner.cancel(self)


class Background(QObject):
    """A small thread pool whose results come back on the GUI thread."""

    busyChanged = Signal(bool)
    _finished = Signal(int, bool, object)  # task id, ok, result or exception (emitted on workers)
    _progress = Signal(int, object)

    def __init__(self, parent: QObject | None = None, *, max_workers: int = 2, name: str = "mimo-bg") -> None:
        super().__init__(parent)
        self._max_workers, self._name = max_workers, name
        self._pool: ThreadPoolExecutor | None = None
        self._tasks: dict[int, Task] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self._finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None,
            on_progress: Callable[[Any], None] | None = None, **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` (plus ``task=`` when it takes one) on a worker thread."""
        pool = self._executor()
        task = Task(self, next(self._ids), on_done, on_error, on_progress)
        if _takes_task(fn):
            kwargs["task"] = task
        was_busy = bool(self._tasks)
        self._tasks[task.id] = task
        task.future = pool.submit(self._call, task, fn, args, kwargs)
        if not was_busy:
            self.busyChanged.emit(True)
        return task

    def is_busy(self) -> bool:
        return bool(self._tasks)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the same pool and hand back its plain future, for a caller that polls
        results in order from a GUI-thread timer (the streaming Markdown renderer) instead of waiting
        for a callback. Queued futures are cancelled at shutdown like every other task."""
        return self._executor().submit(fn, *args)

    def _executor(self) -> ThreadPoolExecutor:
        """The pool, started on first use; none once shut down."""
        if self._closed:
            raise RuntimeError("Background work was shut down.")
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix=self._name)
        return self._pool

    def cancel(self, task: Task) -> None:
        task._stop.set()
        if self._tasks.pop(task.id, None) is not None:
            if task.future is not None:
                task.future.cancel()
            if not self._tasks:
                self.busyChanged.emit(False)

    def shutdown(self, wait: bool = True, *, cancel_queued: bool = True) -> None:
        """Part of the app's ordered shutdown: no new work, running tasks told to stop and waited for.

        ``cancel_queued=False``: work that must not be lost (a sent attachment's copy) is neither told to
        stop nor dropped: the queued tasks still run, and ``wait`` waits for them too."""
        self._closed = True
        if cancel_queued:
            for task in list(self._tasks.values()):
                task._stop.set()
        self._tasks.clear()  # nothing is delivered after shutdown either way
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_queued)

    # worker thread
    def _call(self, task: Task, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # delivered to on_error on the GUI thread
            if not task.stopping:
                self._finished.emit(task.id, False, exc)
            return
        if not task.stopping:
            self._finished.emit(task.id, True, result)

    # GUI thread
    @Slot(int, bool, object)
    def _on_finished(self, task_id: int, ok: bool, value: Any) -> None:
        task = self._tasks.pop(task_id, None)
        if task is None:
            return  # cancelled or shut down meanwhile
        if not self._tasks:
            self.busyChanged.emit(False)
        if ok and task.on_done is not None:
            task.on_done(value)
        elif not ok:
            if task.on_error is None:
                raise value
            task.on_error(value)

    @Slot(int, object)
    def _on_progress(self, task_id: int, value: Any) -> None:
        task = self._tasks.get(task_id)
        if task is not None and task.on_progress is not None:
            task.on_progress(value)


def _takes_task(fn: Callable[..., Any]) -> bool:
    try:
        return "task" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
