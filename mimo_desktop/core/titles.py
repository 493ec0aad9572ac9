"""A new conversation's title, from its first question. No Qt here."""

from __future__ import annotations

TITLE_WORDS = 8


def title_from(text: str) -> str:
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])
    return title + ("…" if len(words) > TITLE_WORDS else "")
