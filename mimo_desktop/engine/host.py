"""EngineHost: one dedicated thread running an asyncio loop that owns one engine.

Commands cross into the loop with ``run_coroutine_threadsafe`` /
``call_soon_threadsafe``; events leave through one callback, called on the
engine thread (or, for "starting" ticks, on a small ticker thread), which the
UI turns into queued Qt signals. Each request is one task iterating
``engine.generate``; cancelling that task is how a request is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from mimo_desktop.engine.protocol import Engine, EngineFactory
from mimo_desktop.engine.types import (
    EngineDied,
    EngineError,
    EngineInfo,
    EngineState,
    EngineStateChanged,
    EngineStats,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    RequestFailed,
    StatsUpdated,
    TextDelta,
)

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], None]


class _StartTicker:
    """Reports 'starting' with the elapsed time while engine.start runs.

    A thread, not a task: vLLM's start blocks the event loop for a minute.
    """

    def __init__(self, emit: EventCallback, interval_s: float) -> None:
        self._emit, self._interval = emit, interval_s
        self._t0 = time.monotonic()
        self.stage = "creating the engine"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mimo-engine-ticker", daemon=True)

    def __enter__(self) -> "_StartTicker":
        self.tick()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self.tick()

    def tick(self) -> None:
        elapsed = time.monotonic() - self._t0
        self._emit(EngineStateChanged("starting", elapsed_s=elapsed, stage=self.stage))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()


class EngineHost:
    def __init__(self, factory: EngineFactory, on_event: EventCallback, *,
                 tick_s: float = 1.0, health_s: float = 2.0, name: str = "mimo-engine") -> None:
        self._factory = factory
        self._health_s = health_s
        self._health_task: asyncio.Task[None] | None = None
        self._on_event = on_event
        self._tick_s = tick_s
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._state: EngineState = "stopped"
        self._dead_message = ""  # why the engine is dead, for requests sent meanwhile
        self._started: asyncio.Future[None] | None = None  # done when start ends
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._end_reason: dict[str, str] = {}  # request id -> why the host cancelled it
        self._submitted_at: dict[str, float] = {}
        self._ready_at = 0.0
        self.info: EngineInfo | None = None
        self.last_stats: EngineStats | None = None

    # ---- called from any thread ---------------------------------------

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Start the thread and the engine; returns at once (events say how it goes)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("EngineHost.start called twice; use restart().")
        running = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(running,),
                                        name=self._name, daemon=True)
        self._thread.start()
        running.wait()
        self._call(self._start_engine())

    def submit(self, request: GenerationRequest) -> None:
        self._submitted_at[request.request_id] = time.monotonic()
        self._loop_or_fail(request.request_id).call_soon_threadsafe(self._launch, request)

    def cancel(self, request_id: str) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._cancel_task, request_id, None)

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> "Future[Any]":
        """Run ``coro`` on the engine loop (e.g. to query the engine); returns a thread-safe future."""
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise RuntimeError("The engine thread is not running; call start() first.")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    @property
    def engine(self) -> Engine | None:
        """The engine object; touch it only on the engine loop (see run_coroutine)."""
        return self._engine

    def restart(self) -> None:
        """Shut the engine down (if anything is left of it) and start a fresh one."""
        self._call(self._restart())

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Cancel requests, shut the engine down, stop the loop, join the thread.

        Returns False when something did not finish within ``timeout_s``.
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None or not thread.is_alive():
            return True
        deadline = time.monotonic() + timeout_s
        future = asyncio.run_coroutine_threadsafe(self._shutdown_engine("The app is closing."), loop)
        clean = True
        try:
            future.result(timeout=timeout_s)
        except FutureTimeout:
            log.warning("engine shutdown did not finish in %.0f s", timeout_s)
            clean = False
        loop.call_soon_threadsafe(loop.stop)
        thread.join(max(0.1, deadline - time.monotonic()))
        return clean and not thread.is_alive()

    # ---- the engine thread ---------------------------------------------

    def _thread_main(self, running: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        loop.call_soon(running.set)
        try:
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            # An engine whose start outlasted shutdown's timeout (vLLM's start blocks this loop for a
            # minute) finished starting after the shutdown was given up on: release it now, or its GPU
            # workers would outlive the host and the next engine would find the memory taken.
            loop.run_until_complete(self._discard_engine())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise RuntimeError("The engine thread is not running; call start() first.")
        asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _loop_or_fail(self, request_id: str) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._loop.is_running():
            self._emit(Failed(request_id, "The engine is not running. Start it first.", False))
            raise RuntimeError("The engine thread is not running.")
        return self._loop

    def _emit(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:  # a broken listener must not take the engine down
            log.exception("event listener failed on %r", event)

    def _set_state(self, event: EngineStateChanged) -> None:
        self._state = event.state
        if event.state == "dead":
            self._dead_message = event.message  # a request sent now is told why, not only that
        self._emit(event)

    def _on_stats(self, stats: EngineStats) -> None:
        self.last_stats = stats
        self._emit(StatsUpdated(stats))

    async def _start_engine(self) -> None:
        self._started = asyncio.get_running_loop().create_future()
        self._state = "starting"
        try:
            with _StartTicker(self._emit, self._tick_s) as ticker:
                try:
                    self._engine = self._factory()
                    self.info = await self._engine.start(ticker.set_stage, self._on_stats)
                except EngineError as exc:
                    failure = str(exc)
                except Exception as exc:  # noqa: BLE001 - every start failure must reach the user
                    log.exception("engine start failed")
                    failure = f"The engine could not start: {type(exc).__name__}: {exc}"
                else:
                    failure = None
            if failure is None:
                self._ready_at = time.monotonic()
                self._set_state(EngineStateChanged("ready", info=self.info))
                self._health_task = asyncio.get_running_loop().create_task(self._watch_health())
            else:
                await self._discard_engine()
                self._set_state(EngineStateChanged("dead", message=failure))
        finally:
            self._started.set_result(None)

    def _launch(self, request: GenerationRequest) -> None:
        rid = request.request_id
        if rid in self._tasks:
            self._emit(Failed(rid, f"Request {rid} is already running.", self._state == "ready"))
            return
        task = asyncio.get_running_loop().create_task(self._run_request(request))
        self._tasks[rid] = task
        task.add_done_callback(lambda t, rid=rid: self._on_task_done(rid, t))

    def _on_task_done(self, rid: str, task: asyncio.Task[None]) -> None:
        """A task cancelled before it first ran never enters _run_request: give it its one end event."""
        if self._tasks.get(rid) is not task:
            return  # _run_request ran and cleaned up
        self._tasks.pop(rid, None)
        self._submitted_at.pop(rid, None)
        reason = self._end_reason.pop(rid, None)
        if reason is None:
            self._emit(Finished(rid, "cancelled", None, 0, None, None))
        else:
            self._emit(Failed(rid, reason, False))

    def _cancel_task(self, request_id: str, reason: str | None) -> None:
        task = self._tasks.get(request_id)
        if task is None or task.done():
            return
        if reason is not None:
            self._end_reason[request_id] = reason
        task.cancel()

    async def _run_request(self, request: GenerationRequest) -> None:
        rid = request.request_id
        submitted = self._submitted_at.pop(rid, time.monotonic())
        clock = _RequestClock(submitted)
        try:
            if self._state == "starting" and self._started is not None:
                await asyncio.shield(self._started)
            # TTFT counts from when the engine could take the request, not from a start it waited for
            clock.submitted = max(clock.submitted, self._ready_at)
            if self._state != "ready" or self._engine is None:
                self._emit(Failed(rid, self._not_ready_message(), False))
                return
            await self._stream(request, clock)
        except asyncio.CancelledError:
            reason = self._end_reason.pop(rid, None)
            if clock.ended:
                pass  # cancelled while the engine closed a stream it had finished: already reported
            elif reason is None:
                self._emit(clock.finished(rid, "cancelled"))
            else:
                self._emit(Failed(rid, reason, False))
        except EngineDied as exc:
            self._emit_failure(clock, Failed(rid, str(exc), False))
            await self._mark_dead(str(exc), except_request=rid)
        except RequestFailed as exc:
            self._emit_failure(clock, Failed(rid, str(exc), True, exc.kind, exc.tokens))
        except Exception as exc:  # noqa: BLE001 - never let a request vanish silently
            log.exception("request %s failed", rid)
            self._emit_failure(clock, Failed(rid, f"Unexpected engine error: {type(exc).__name__}: {exc}", True))
        finally:
            self._tasks.pop(rid, None)
            self._end_reason.pop(rid, None)

    def _emit_failure(self, clock: "_RequestClock", failure: Failed) -> None:
        """Exactly one end per request: an error while closing a finished stream is only logged."""
        if clock.ended:
            log.warning("after request %s finished: %s", failure.request_id, failure.message)
        else:
            self._emit(failure)

    async def _stream(self, request: GenerationRequest, clock: "_RequestClock") -> None:
        assert self._engine is not None
        rid = request.request_id
        # aclosing: an engine generator left behind would run its cleanup later, on GC
        async with contextlib.aclosing(self._engine.generate(request)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    clock.on_delta(event)
                    self._emit(event)
                elif isinstance(event, Finished):
                    clock.ended = True
                    self._emit(clock.complete(event))
                    return
        raise RequestFailed(f"The engine ended request {rid} without finishing it.")

    def _not_ready_message(self) -> str:
        if self._state == "dead":
            if self._dead_message:
                return f"The engine has stopped working: {self._dead_message} Restart it to continue."
            return "The engine has stopped working. Restart it to continue."
        return "The engine is not running. Start it first."

    async def _mark_dead(self, message: str, except_request: str | None = None) -> None:
        if self._state == "dead":
            return
        self._state = "dead"
        for rid in list(self._tasks):
            if rid != except_request:
                self._cancel_task(rid, message)
        await self._discard_engine()
        self._set_state(EngineStateChanged("dead", message=message))

    async def _watch_health(self) -> None:
        """Notice an engine that died while idle (a worker killed, a GPU fault)."""
        while self._state == "ready" and self._engine is not None:
            await asyncio.sleep(self._health_s)
            probe = getattr(self._engine, "check_health", None)
            if probe is None:  # an engine written before the protocol had it: nothing to watch
                return
            try:
                await probe()
            except EngineDied as exc:
                self._health_task = None  # _mark_dead must not cancel this task while it runs
                await self._mark_dead(str(exc))
                return
            except Exception:  # noqa: BLE001 - a failing probe is not a death
                log.exception("engine health check failed")

    async def _discard_engine(self, timeout_s: float = 20.0) -> None:
        health, self._health_task = self._health_task, None
        if health is not None and health is not asyncio.current_task():
            health.cancel()
            await asyncio.gather(health, return_exceptions=True)
        engine, self._engine = self._engine, None
        if engine is None:
            return
        try:
            await asyncio.wait_for(engine.shutdown(), timeout_s)
        except Exception:  # noqa: BLE001 - a dead engine may fail to shut down; we move on
            log.exception("engine shutdown failed")

    async def _cancel_all(self, reason: str) -> None:
        tasks = [t for t in self._tasks.values() if t is not asyncio.current_task()]
        for rid in list(self._tasks):
            self._cancel_task(rid, reason)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _shutdown_engine(self, reason: str) -> None:
        if self._started is not None and not self._started.done():
            await asyncio.shield(self._started)
        await self._cancel_all(reason)
        await self._discard_engine()
        self._set_state(EngineStateChanged("stopped"))

    async def _restart(self) -> None:
        await self._shutdown_engine("The engine is restarting.")
        await self._start_engine()


@dataclasses.dataclass
class _RequestClock:
    """TTFT and throughput as the user sees them: from submit() to each delta."""

    submitted: float
    first_at: float | None = None
    output_tokens: int = 0
    ended: bool = False  # Finished was emitted

    def on_delta(self, delta: TextDelta) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.output_tokens += delta.token_count

    def _rates(self) -> tuple[float | None, float | None]:
        if self.first_at is None:
            return None, None
        now = time.monotonic()
        ttft = self.first_at - self.submitted
        span = now - self.first_at
        # the first delta's tokens arrive at TTFT; the rate counts the ones after
        tps = (self.output_tokens - 1) / span if span > 0 and self.output_tokens > 1 else None
        return ttft, tps

    def complete(self, event: Finished) -> Finished:
        ttft, tps = self._rates()
        return dataclasses.replace(event, ttft_s=ttft, tokens_per_s=tps)

    def finished(self, request_id: str, reason: str) -> Finished:
        ttft, tps = self._rates()
        return Finished(request_id, reason, None, self.output_tokens, ttft, tps)
