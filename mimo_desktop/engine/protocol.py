"""The interface every engine (embedded vLLM, remote server, test script) implements.

All methods run on the EngineHost's event loop thread. ``generate`` yields
TextDelta events and finally one Finished event; it reports failure by raising
``RequestFailed`` (engine still serving) or ``EngineDied`` (restart needed).
Cancelling the task that iterates ``generate`` is how a request is stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol, runtime_checkable

from mimo_desktop.engine.types import (
    EngineInfo,
    EngineStats,
    Finished,
    GenerationRequest,
    TextDelta,
)

StageCallback = Callable[[str], None]
StatsCallback = Callable[[EngineStats], None]


@runtime_checkable
class Engine(Protocol):
    async def start(self, on_stage: StageCallback, on_stats: StatsCallback) -> EngineInfo:
        """Load the model / connect; report progress through ``on_stage``."""
        ...

    def generate(self, request: GenerationRequest) -> AsyncIterator[TextDelta | Finished]:
        ...

    async def check_health(self) -> None:
        """Raise ``EngineDied`` if the engine died while idle (polled by the host)."""
        ...

    async def abort(self, request_id: str) -> None:
        """Stop a request explicitly (cancelling generate's task also does it)."""
        ...

    async def shutdown(self) -> None:
        """Release everything (GPU workers, HTTP connections). Safe to call twice."""
        ...


EngineFactory = Callable[[], Engine]
