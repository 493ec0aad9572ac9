"""A scripted engine for the UI tests, behind the real EngineHost (the GPU is the only fake part).

The last user message says what to do, e.g. ``"tokens=5"``, ``"think=3 tokens=4"``,
``"tokens=3 then=hang"``, ``"tokens=2 then=fail"``, ``"tokens=2 then=die"``, ``"code tokens=2"``,
``"wait=2 tokens=1"`` (seconds before the first token), ``"run=1024 tokens=1"`` (an unbroken line of
1,024 KiB of base64-like text first, in 4 KiB pieces).
"""

from __future__ import annotations

import asyncio
import threading
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
from mimo_desktop.engine.choice import EngineChoice

CODE_ANSWER = "Here is code:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nDone.\n"


@dataclass
class Script:
    tokens: int = 5
    think: int = 0
    then: str = "finish"  # finish | hang | fail | die
    code: bool = False
    wait: float = 0.0
    run_kib: int = 0

    @classmethod
    def parse(cls, text: str) -> Script:
        fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
        return cls(int(fields.get("tokens", 5)), int(fields.get("think", 0)), fields.get("then", "finish"),
                   "code" in text.split(), float(fields.get("wait", 0)), int(fields.get("run", 0)))


@dataclass
class EngineLog:
    started: int = 0
    requests: list[GenerationRequest] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class UiScriptedEngine:
    def __init__(self, log: EngineLog) -> None:
        self.log = log

    async def start(self, on_stage, on_stats) -> EngineInfo:
        on_stage("loading the scripted model")
        await asyncio.sleep(0)
        with self.log.lock:
            self.log.started += 1
        on_stats(EngineStats(generation_tokens_per_s=0.0))
        return EngineInfo(name="scripted", gpus=2, tensor_parallel=2, mtp_tokens=1, max_context=8192)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | Finished]:
        with self.log.lock:
            self.log.requests.append(request)
        script = Script.parse(request.turns[-1].text)
        rid = request.request_id
        try:
            if script.wait:
                await asyncio.sleep(script.wait)
            for _ in range(script.run_kib // 4):
                yield TextDelta(rid, "QUJD" * 1024, 1024)
                await asyncio.sleep(0)
            if script.run_kib:
                yield TextDelta(rid, "\n\n", 1)
            for i in range(script.think):
                yield TextDelta(rid, f"ponder{i} ", 1, reasoning=True)
                await asyncio.sleep(0.001)
            if script.code:
                for line in CODE_ANSWER.splitlines(keepends=True):
                    yield TextDelta(rid, line, 1)
                    await asyncio.sleep(0.001)
            for i in range(script.tokens):
                yield TextDelta(rid, f"t{i} ", 1)
                await asyncio.sleep(0.001)
            if script.then == "hang":
                await asyncio.Event().wait()
            if script.then == "fail":
                raise RequestFailed("The scripted request failed on purpose.")
            if script.then == "die":
                raise EngineDied("The scripted engine died (worker killed).")
            yield Finished(rid, "stop", 11, script.tokens, None, None, 8, 6)
        except asyncio.CancelledError:
            with self.log.lock:
                self.log.cancelled.append(rid)
            raise

    async def abort(self, request_id: str) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def scripted_choice(log: EngineLog) -> EngineChoice:
    return EngineChoice("scripted", lambda: UiScriptedEngine(log), "scripted engine")
