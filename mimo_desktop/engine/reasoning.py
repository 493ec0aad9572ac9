"""Split a streamed answer into the model's thinking and its answer, as the text arrives.

MiMo-V2.5 thinks between ``<think>`` and ``</think>`` (vLLM 0.33.0's ``mimo`` reasoning parser
is its Qwen3 parser with MiMo's settings). As in that parser, a stream whose prompt enabled thinking starts *inside* the
reasoning (the chat template already wrote ``<think>``); a stray ``<think>`` there is dropped, and
the first ``</think>`` switches to the answer for good. A tag may be cut across deltas at any point: the splitter holds
back only a tail that could still become a tag, so nothing is delayed longer than a tag's length.
"""

from __future__ import annotations

from dataclasses import dataclass

THINK_START = "<think>"
THINK_END = "</think>"


@dataclass(frozen=True)
class Piece:
    text: str
    reasoning: bool


class ReasoningSplitter:
    def __init__(self, *, start_in_reasoning: bool, start_tag: str = THINK_START, end_tag: str = THINK_END):
        self.in_reasoning = start_in_reasoning
        self._start, self._end = start_tag, end_tag
        self._pending = ""
        self.saw_end = False
        self.saw_start = False
        self.reasoning_chars = 0
        self.answer_chars = 0
        self._answer_begun = False  # a non-blank character of answer has been emitted

    def feed(self, text: str) -> list[Piece]:
        """Pieces that can be shown now, in order; adjacent pieces of one kind are merged."""
        buffer = self._pending + text
        self._pending = ""
        pieces: list[Piece] = []
        while buffer:
            if not self.in_reasoning and (self.saw_end or self._answer_begun):
                # As vLLM's Qwen3 parser: once the answer has begun, the rest is answer, even a
                # literal "<think>" in it (say, in an explanation of the tags).
                self._emit(pieces, buffer)
                buffer = ""
                break
            tag = self._end if self.in_reasoning else self._start
            other = self._start if self.in_reasoning else None  # a repeated <think> inside reasoning
            at = buffer.find(tag)
            other_at = buffer.find(other) if other else -1
            if other_at != -1 and (at == -1 or other_at < at):
                self._emit(pieces, buffer[:other_at])
                buffer = buffer[other_at + len(other):]
                self.saw_start = True
                continue
            if at != -1 and not self.in_reasoning and buffer[:at].strip():
                self._emit(pieces, buffer)  # words before "<think>": the answer had begun, it is text
                buffer = ""
                break
            if at != -1:
                self._emit(pieces, buffer[:at])
                buffer = buffer[at + len(tag):]
                self.saw_end |= self.in_reasoning
                self.saw_start |= not self.in_reasoning
                self.in_reasoning = not self.in_reasoning
                continue
            keep = _partial_tag_suffix(buffer, (tag, other) if other else (tag,))
            self._emit(pieces, buffer[: len(buffer) - keep])
            self._pending = buffer[len(buffer) - keep:]
            break
        return pieces

    def finish(self) -> list[Piece]:
        """At the end of the stream: whatever was held back is plain text after all."""
        pieces: list[Piece] = []
        self._emit(pieces, self._pending)
        self._pending = ""
        return pieces

    @property
    def never_closed(self) -> bool:
        """The stream ended while still in implicit reasoning that no tag ever opened or closed:
        the model did not think at all, so what was taken for thinking is really the answer."""
        return self.in_reasoning and not self.saw_end and not self.saw_start and self.answer_chars == 0

    def _emit(self, pieces: list[Piece], text: str) -> None:
        if not text:
            return
        if self.in_reasoning:
            self.reasoning_chars += len(text)
        else:
            self.answer_chars += len(text)
            self._answer_begun = self._answer_begun or bool(text.strip())
        if pieces and pieces[-1].reasoning == self.in_reasoning:
            pieces[-1] = Piece(pieces[-1].text + text, self.in_reasoning)
        else:
            pieces.append(Piece(text, self.in_reasoning))


def _partial_tag_suffix(buffer: str, tags: tuple[str, ...]) -> int:
    """Length of the longest end of ``buffer`` that is a proper prefix of one of ``tags``."""
    longest = 0
    for tag in tags:
        for n in range(min(len(tag) - 1, len(buffer)), longest, -1):
            if buffer.endswith(tag[:n]):
                longest = n
                break
    return longest


def split_whole(text: str, *, start_in_reasoning: bool) -> tuple[str, str]:
    """(reasoning, answer) of a complete text; the reference the streaming splitter must match."""
    splitter = ReasoningSplitter(start_in_reasoning=start_in_reasoning)
    pieces = splitter.feed(text) + splitter.finish()
    return (
        "".join(p.text for p in pieces if p.reasoning),
        "".join(p.text for p in pieces if not p.reasoning),
    )
