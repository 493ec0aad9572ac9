"""A scripted engine implementing the same Engine protocol as the vLLM and
remote engines: the GPU is the one real part that cannot run here.

The last user message says what to do, e.g. ``"tokens=5 delay=0.01"``,
``"tokens=3 then=fail"``, ``"tokens=3 then=die"``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from mimo_desktop.engine.types import (
    EngineDied,
    EngineInfo,
    EngineStats,
    Finished,
    GenerationRequest,
    RequestFailed,
    TextDelta,
)


@dataclass
class Script:
    tokens: int = 5
    delay: float = 0.0
    then: str = "finish"  # finish | fail | die | hang | slow_close

    @classmethod
    def parse(cls, text: str) -> "Script":
        fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
        return cls(int(fields.get("tokens", 5)), float(fields.get("delay", 0.0)), fields.get("then", "finish"))


@dataclass
class EngineLog:
    """What the engines made by one factory saw (shared across restarts)."""

    started: int = 0
    shutdowns: int = 0
    aborted: list[str] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    closing: threading.Event = field(default_factory=threading.Event)
    killed: threading.Event = field(default_factory=threading.Event)  # a worker dies while idle
    lock: threading.Lock = field(default_factory=threading.Lock)


class ScriptedEngine:
    def __init__(self, log: EngineLog, start_delay: float = 0.0, start_error: Exception | None = None,
                 stages: tuple[str, ...] = ("loading", "warming up"), blocking_start_s: float = 0.0) -> None:
        self.log = log
        self.blocking_start_s = blocking_start_s  # vLLM's start blocks the loop: so can this one
        self.start_delay = start_delay
        self.start_error = start_error
        self.stages = stages
        self._dead: asyncio.Event | None = None

    async def start(self, on_stage, on_stats) -> EngineInfo:
        self.log.threads.add(threading.current_thread().name)
        self._dead = asyncio.Event()
        for stage in self.stages:
            on_stage(stage)
            await asyncio.sleep(self.start_delay / max(1, len(self.stages)))
        time.sleep(self.blocking_start_s)
        if self.start_error is not None:
            raise self.start_error
        self.log.started += 1
        on_stats(EngineStats(generation_tokens_per_s=0.0))
        return EngineInfo(name="scripted", gpus=2, tensor_parallel=2, mtp_tokens=1)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | Finished]:
        self.log.threads.add(threading.current_thread().name)
        assert self._dead is not None
        script = Script.parse(request.turns[-1].text)
        rid = request.request_id
        try:
            for i in range(script.tokens):
                await self._wait(script.delay)
                yield TextDelta(rid, f"t{i} ", 1)
            if script.then == "fail":
                raise RequestFailed("The scripted request failed on purpose.")
            if script.then == "die":
                self._dead.set()
                raise EngineDied("The scripted engine died (worker killed).")
            if script.then == "hang":
                await asyncio.Event().wait()
            yield Finished(rid, "stop", 7, script.tokens, None, None, 4, 3)
        except asyncio.CancelledError:
            with self.log.lock:
                self.log.aborted.append(rid)
            raise
        finally:
            if script.then == "slow_close":  # like closing an HTTP stream after the last chunk
                self.log.closing.set()
                await asyncio.sleep(0.3)

    async def _wait(self, delay: float) -> None:
        """Sleep, but fail at once if another request killed the engine (as vLLM does)."""
        assert self._dead is not None
        dead = asyncio.ensure_future(self._dead.wait())
        try:
            await asyncio.wait([dead], timeout=delay)
        finally:
            dead.cancel()
        if self._dead.is_set():
            raise EngineDied("The scripted engine died (worker killed).")

    async def check_health(self) -> None:
        if self.log.killed.is_set():
            raise EngineDied("The scripted engine died while idle.")

    async def abort(self, request_id: str) -> None:
        with self.log.lock:
            self.log.aborted.append(request_id)

    async def shutdown(self) -> None:
        with self.log.lock:
            self.log.shutdowns += 1
