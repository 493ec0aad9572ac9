"""What a message costs against the engine's context, in tokens and in words. No Qt here.

``item_tokens`` reads a prepared item or a header estimate (a video's sound track included);
``history_tokens`` is what a thread already takes; ``ContextBudget`` is what the composer's meter says and
why Send is refused when a message does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mimo_desktop.core.conversation import Message


def item_tokens(item: Any) -> int:
    """Tokens an item adds, its video's sound track included."""
    return getattr(item, "total_tokens", item.tokens)


def format_duration(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}" if whole < 3600 else f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def format_cost(tokens: int, estimate: bool) -> str:
    return f"{'≈ ' if estimate else ''}{tokens:,} tokens"


def format_seconds(seconds: float) -> str:
    return f"{max(1, round(seconds))} s" if seconds < 90 else f"{round(seconds / 60)} min"


@dataclass(frozen=True)
class ContextBudget:
    """A message's tokens against the engine's context: what the meter says and whether Send may go."""

    text_tokens: int
    media_tokens: int
    history_tokens: int
    limit: int | None  # None: no engine context length known yet
    estimate: bool

    NEAR_FULL = 0.9  # the meter turns amber above this share of the context

    @property
    def message_tokens(self) -> int:
        return self.text_tokens + self.media_tokens

    def meter_text(self) -> str:
        approx = "≈ " if self.estimate else ""
        parts = f"text {self.text_tokens:,} · attachments {self.media_tokens:,}"
        if self.limit is None:
            return f"Message: {approx}{self.message_tokens:,} tokens ({parts})"
        used = self.history_tokens + self.message_tokens
        return f"Context: {approx}{used:,} of {self.limit:,} tokens (history {self.history_tokens:,} · {parts})"

    def meter_color(self) -> str:
        if self.limit is None:
            return "gray"
        share = (self.history_tokens + self.message_tokens) / self.limit if self.limit else 1.0
        return "#c0392b" if share > 1 else "#d68910" if share > self.NEAR_FULL else "gray"

    def over_reason(self) -> str:
        """"" when the message fits; otherwise why Send is disabled."""
        if self.limit is None:
            return ""
        left = self.limit - self.history_tokens
        if self.message_tokens <= left:
            return ""
        return (
            f"Too long: this message needs {self.message_tokens:,} tokens but only {max(left, 0):,} of the "
            f"{self.limit:,}-token context are left. Remove an attachment or start a new chat."
        )


def history_tokens(thread: list[Message]) -> int:
    """Prompt tokens the thread takes: exact up to the last answer with usage, estimated after it."""
    used, start = 0, 0
    for i, msg in enumerate(thread):
        if msg.stats.prompt_tokens is not None and msg.stats.output_tokens is not None:
            used, start = msg.stats.prompt_tokens + msg.stats.output_tokens, i + 1
    for msg in thread[start:]:
        used += len(msg.text) // 4 + sum(a.tokens or 0 for a in msg.attachments)  # ~4 characters a token
    return used
