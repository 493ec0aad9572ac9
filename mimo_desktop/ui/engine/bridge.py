"""The EngineHost seen from the GUI thread: engine events become Qt signals on the GUI thread.

``_on_engine_event`` runs on the engine thread. It only appends to a queue and, when the queue
was empty, emits ``_wake`` — connected with an explicit QueuedConnection to ``_drain``, a slot of
this GUI-thread object. So however fast tokens come, the GUI thread gets one wake-up per batch,
and consecutive deltas of one request arrive merged. Nothing here touches widgets or the store.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot

from mimo_desktop.engine.host import EngineHost
from mimo_desktop.engine.protocol import EngineFactory
from mimo_desktop.engine.types import (
    EngineInfo,
    EngineStateChanged,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    StatsUpdated,
    TextDelta,
)

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_S = 30.0
# While the engine thread runs Python flat out (a fast stream), the GUI thread must win the GIL
# back quickly: at CPython's default 5 ms each of its many short Qt calls could wait that long.
GIL_SWITCH_INTERVAL_S = 0.0005


class EngineBridge(QObject):
    textReceived = Signal(str, str, int, bool)  # request id, text, tokens, reasoning
    requestFinished = Signal(object)  # Finished
    requestFailed = Signal(object)  # Failed
    engineStateChanged = Signal(object)  # EngineStateChanged
    statsChanged = Signal(object)  # EngineStats
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._host: EngineHost | None = None
        self._generation = 0  # which host's events count: a replaced host may still speak late
        self._queue: list[Event] = []
        self._lock = threading.Lock()
        self.state = "stopped"
        self.info: EngineInfo | None = None
        self.last_message = ""
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ commands
    @property
    def configured(self) -> bool:
        return self._host is not None

    def start(self, factory: EngineFactory, *, tick_s: float = 1.0) -> None:
        """Replace any running engine with one made by ``factory``."""
        self.shutdown()
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        self._generation += 1
        self._host = EngineHost(factory, functools.partial(self._on_engine_event, self._generation),
                                tick_s=tick_s)
        self.state = "starting"
        self._host.start()

    def submit(self, request: GenerationRequest) -> bool:
        if self._host is None:
            return False
        try:
            self._host.submit(request)
        except RuntimeError:  # the host already reported Failed for it
            return False
        return True

    def cancel(self, request_id: str) -> None:
        if self._host is not None:
            self._host.cancel(request_id)

    def restart(self) -> None:
        if self._host is not None:
            self.state = "starting"
            self._host.restart()

    def shutdown(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> bool:
        host, self._host = self._host, None
        if host is None:
            return True
        clean = host.shutdown(timeout_s)
        if not clean:
            log.warning("the engine did not stop within %.0f s", timeout_s)
        self._drain()  # deliver the final events (stopped, cancelled requests) before we go
        self._generation += 1  # whatever the old host says from now on is dropped
        self.state, self.info = "stopped", None
        return clean

    # ------------------------------------------------------- engine thread
    def _on_engine_event(self, generation: int, event: Event) -> None:
        if generation != self._generation:
            return  # from an engine that was replaced while it was still starting: not ours to show
        with self._lock:
            first = not self._queue
            self._queue.append(event)
        if first:
            self._wake.emit()

    # ---------------------------------------------------------- GUI thread
    @Slot()
    def _drain(self) -> None:
        with self._lock:
            events, self._queue = self._queue, []
        run: list[TextDelta] = []  # consecutive deltas of one request and kind, emitted as one
        for event in events:
            if isinstance(event, TextDelta):
                if run and (run[0].request_id != event.request_id or run[0].reasoning != event.reasoning):
                    self._emit_text(run)
                    run = []
                run.append(event)
                continue
            self._emit_text(run)
            run = []
            self._dispatch(event)
        self._emit_text(run)

    def _emit_text(self, run: list[TextDelta]) -> None:
        if run:
            first = run[0]
            text = first.text if len(run) == 1 else "".join(d.text for d in run)
            self.textReceived.emit(first.request_id, text, sum(d.token_count for d in run), first.reasoning)

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, Finished):
            self.requestFinished.emit(event)
        elif isinstance(event, Failed):
            self.requestFailed.emit(event)
        elif isinstance(event, EngineStateChanged):
            self.state = event.state
            if event.state == "ready":
                self.info = event.info
            elif event.state == "dead":
                self.last_message = event.message
            self.engineStateChanged.emit(event)
        elif isinstance(event, StatsUpdated):
            self.statsChanged.emit(event.stats)
