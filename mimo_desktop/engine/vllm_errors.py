"""vLLM exceptions, turned into messages a person can act on.

The exception classes are matched by name so that this module imports
without vLLM (and "vLLM is not installed" can be reported through it too).
vLLM 0.33 reports a bad request (prompt longer than the context, bad sampling
values, unreadable media) as ``VLLMClientError`` subclasses, which are no longer
``ValueError``s and which ``AsyncLLM.generate`` re-raises unwrapped; any other
exception inside ``generate`` reaches us wrapped in ``EngineGenerateError``.
"""

from __future__ import annotations

from collections.abc import Iterator

from mimo_desktop.core.install_hint import add_vllm_hint
from mimo_desktop.engine.types import EngineDied, EngineError, InvalidRequest, RequestFailed

VLLM_MISSING = (
    f"vLLM is not installed, so the embedded engine cannot run. To add it, {add_vllm_hint()}; "
    "or use a remote server (--engine remote --url ...)."
)
OOM_ADVICE = ("Lower the GPU memory fraction or the max context, send smaller media, "
              "or spread the model over more GPUs (tensor parallel).")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_oom(exc: BaseException) -> bool:
    return any(type(e).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(e)
               for e in _chain(exc))


def _root_message(exc: BaseException) -> str:
    """The innermost message worth showing (vLLM wraps the real cause)."""
    for e in reversed(list(_chain(exc))):
        text = str(e).strip()
        if text:
            return f"{type(e).__name__}: {text}"
    return type(exc).__name__


def is_client_error(exc: BaseException) -> bool:
    """vLLM's verdict that the request (or a setting) itself is wrong, not the engine."""
    return isinstance(exc, ValueError) or any(c.__name__ == "VLLMClientError" for c in type(exc).__mro__)


def start_failure(exc: BaseException) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, ImportError) and "vllm" in str(exc):
        return EngineDied(VLLM_MISSING)
    if _is_oom(exc):
        return EngineDied(f"Out of GPU memory while starting the engine. {OOM_ADVICE}")
    text = str(exc)
    if "Engine core initialization failed" in text:
        return EngineDied(
            "The engine's GPU worker processes failed while starting. The cause is in the log "
            "above this message: often too little free GPU memory, an attention backend this GPU or "
            "vLLM build lacks (choose another in the engine settings), or a model folder vLLM cannot "
            f"read. ({text})")
    if isinstance(exc, TypeError) or is_client_error(exc):
        return EngineDied(f"vLLM rejected the engine settings: {_root_message(exc)}")
    return EngineDied(f"The engine could not start: {_root_message(exc)}")


def generate_failure(exc: BaseException) -> EngineError:
    """Map an exception raised by AsyncLLM.generate to our error types."""
    if isinstance(exc, EngineError):
        return exc
    name = type(exc).__name__
    if name == "EngineDeadError":
        return EngineDied(
            "The engine stopped working (a GPU worker process died). "
            "Restart the engine to continue.")
    if _is_oom(exc):
        return RequestFailed(f"The GPU ran out of memory for this request. {OOM_ADVICE}")
    if is_client_error(exc):  # vLLM's request validation (too long, bad media, ...)
        return InvalidRequest(f"vLLM refused the request: {exc}")
    if name == "EngineGenerateError":
        return RequestFailed(f"The request failed in the engine: {_root_message(exc)}")
    return RequestFailed(f"The request failed: {_root_message(exc)}")
