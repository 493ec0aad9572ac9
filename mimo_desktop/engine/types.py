"""Requests going into an engine and the events coming out of it. No Qt, no vLLM.

Every per-request event carries the request id so that the GUI thread can drop
events for a request that is no longer current (STYLE.md: only the GUI thread
changes conversation state).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from mimo_desktop.media.prepared import PreparedMedia

Role = Literal["system", "user", "assistant"]


class EngineError(Exception):
    """A failure an engine reports; the message is written for a person."""


# A remote server's silences (seconds; settings and `ask` flags change them; remote.py says why these)
FIRST_TOKEN_TIMEOUT_S = 60.0
TOKEN_TIMEOUT_S = 30.0
API_KEY_ENV = "MIMO_DESKTOP_API_KEY"  # a server's key where no OS keyring exists (and for `ask`); never printed

# Failed.kind: what a person is told happened, for the view to show it apart from other failures
NO_ANSWER = "no_answer"  # nothing at all arrived before the first-token timeout
STOPPED_MID_ANSWER = "stopped_mid_answer"  # the stream stopped after some tokens (Failed.tokens of them)
UNREACHABLE = "unreachable"  # the server could not be reached


class RequestFailed(EngineError):
    """This one request failed; the engine keeps serving others."""

    def __init__(self, message: str, *, kind: str = "", tokens: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.tokens = tokens


class EngineDied(EngineError):
    """The engine is gone (a worker died, CUDA broke): it must be restarted."""


class InvalidRequest(RequestFailed):
    """The request itself is wrong (too long, bad setting); nothing is broken."""


@dataclass(frozen=True)
class Turn:
    """One message of the conversation; attachments come before the text."""

    role: Role
    text: str = ""
    attachments: tuple["PreparedMedia", ...] = ()
    # An earlier answer's thinking, passed back as the template / server expects (MiMo's API
    # rejects thinking-mode history without it: Chatbox issue #3716).
    reasoning: str = ""


@dataclass(frozen=True)
class SamplingSettings:
    """What the user chose; ``None`` means "the model's effective default"."""

    max_tokens: int = 1024
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    ignore_eos: bool = False  # benchmarks only: always generate max_tokens
    # The chat template's thinking switch (`enable_thinking`); None leaves it to the template.
    thinking: bool | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise InvalidRequest(f"max_tokens must be at least 1, not {self.max_tokens}.")
        if self.temperature is not None and self.temperature < 0:
            raise InvalidRequest(f"temperature must be 0 or more, not {self.temperature}.")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise InvalidRequest(f"top_p must be in (0, 1], not {self.top_p}.")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class GenerationRequest:
    turns: tuple[Turn, ...]
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    request_id: str = field(default_factory=new_request_id)
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        if not self.turns:
            raise InvalidRequest("A request needs at least one message.")
        if self.turns[-1].role != "user":
            raise InvalidRequest("The last message of a request must be the user's.")


# ---- events -------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    request_id: str
    text: str
    token_count: int  # tokens in this delta (MTP may deliver several at once)
    reasoning: bool = False  # the model's thinking (a server's reasoning_content), not the answer


@dataclass(frozen=True)
class Finished:
    request_id: str
    reason: str  # "stop", "length", "cancelled", ...
    prompt_tokens: int | None
    output_tokens: int
    ttft_s: float | None  # time from submit to first text
    tokens_per_s: float | None  # output tokens / (finish - first token)
    mtp_drafted: int | None = None
    mtp_accepted: int | None = None

    @property
    def mtp_acceptance(self) -> float | None:
        if not self.mtp_drafted:
            return None
        return (self.mtp_accepted or 0) / self.mtp_drafted


@dataclass(frozen=True)
class Failed:
    request_id: str
    message: str
    engine_alive: bool
    kind: str = ""  # NO_ANSWER, STOPPED_MID_ANSWER, UNREACHABLE, or "" for any other failure
    tokens: int = 0  # tokens that had arrived (STOPPED_MID_ANSWER)


@dataclass(frozen=True)
class EngineInfo:
    """What a ready engine tells the user about itself."""

    name: str  # model folder name or server URL
    gpus: int = 0
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    mtp_tokens: int = 0  # 0 = MTP off
    max_context: int | None = None
    sampling_defaults: dict[str, float | int] = field(default_factory=dict)
    modalities: tuple[str, ...] = ("text",)
    notes: tuple[str, ...] = ()  # e.g. "audio unavailable: no audio_tokenizer/ folder"
    thinking_switch: bool = False  # the chat template takes enable_thinking (a per-conversation toggle)


EngineState = Literal["starting", "ready", "stopped", "dead"]


@dataclass(frozen=True)
class EngineStateChanged:
    state: EngineState
    elapsed_s: float = 0.0  # starting: seconds since start began
    stage: str = ""  # starting: what is happening now
    info: EngineInfo | None = None  # ready
    message: str = ""  # dead: why


@dataclass(frozen=True)
class EngineStats:
    """Live figures from the engine's stat logger (None where unknown)."""

    generation_tokens_per_s: float | None = None
    prompt_tokens_per_s: float | None = None
    kv_cache_usage: float | None = None  # 0..1
    running_requests: int | None = None
    waiting_requests: int | None = None
    mtp_drafted: int = 0  # cumulative since start
    mtp_accepted: int = 0
    mtp_acceptance_rate: float | None = None  # over the last interval
    mtp_mean_acceptance_length: float | None = None  # 1 + accepted / drafts


@dataclass(frozen=True)
class StatsUpdated:
    stats: EngineStats


RequestEvent = Union[TextDelta, Finished, Failed]
Event = Union[TextDelta, Finished, Failed, EngineStateChanged, StatsUpdated]
