"""Engines: the embedded vLLM engine and a remote OpenAI-compatible server,
behind one protocol, hosted on a dedicated thread. No Qt here.

Only light modules are re-exported: vLLM is imported by ``vllm_engine`` (and
``vllm_stats``) when the embedded engine starts, never on import of this package.
"""

from mimo_desktop.engine.host import EngineHost
from mimo_desktop.engine.protocol import Engine, EngineFactory
from mimo_desktop.engine.types import (
    EngineDied,
    EngineError,
    EngineInfo,
    EngineStateChanged,
    EngineStats,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    InvalidRequest,
    RequestFailed,
    SamplingSettings,
    StatsUpdated,
    TextDelta,
    Turn,
)

__all__ = [
    "Engine", "EngineDied", "EngineError", "EngineFactory", "EngineHost", "EngineInfo",
    "EngineStateChanged", "EngineStats", "Event", "Failed", "Finished", "GenerationRequest",
    "InvalidRequest", "RequestFailed", "SamplingSettings", "StatsUpdated", "TextDelta", "Turn",
]
