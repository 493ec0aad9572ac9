"""The conversation model: plain dataclasses, no Qt, no SQL."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Role(str, enum.Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageState(str, enum.Enum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Attachment:
    sha256: str
    kind: str  # image | video | audio
    name: str  # the file name the user gave it
    size: int
    mime: str = ""
    tokens: int | None = None


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    mtp_drafted: int | None = None
    mtp_accepted: int | None = None
    finish_reason: str | None = None
    thinking_s: float | None = None  # from the first thought to the first word of the answer

    @property
    def acceptance_rate(self) -> float | None:
        if not self.mtp_drafted:
            return None
        return (self.mtp_accepted or 0) / self.mtp_drafted

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationStats:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    text: str
    state: MessageState
    created_at: float
    updated_at: float
    reasoning: str = ""
    error: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    current_leaf_id: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int
    snippet: str
