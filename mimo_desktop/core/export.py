"""Export conversations as Markdown (what a person reads) or JSON (everything, branches included)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from .conversation import Conversation, Message, MessageState
from .store import Store

FORMATS = ("md", "json")


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def _pick(store: Store, conversation_ids: Sequence[int] | None) -> list[Conversation]:
    if conversation_ids is None:
        return list(reversed(store.conversations()))  # oldest first reads naturally in one file
    return [store.conversation(cid) for cid in conversation_ids]


def to_markdown(store: Store, conversation_ids: Sequence[int] | None = None, *, reasoning: bool = False) -> str:
    parts: list[str] = []
    for conv in _pick(store, conversation_ids):
        parts.append(f"# {conv.title or 'Untitled conversation'}\n\n_Started {_when(conv.created_at)}_\n")
        for msg in store.thread(conv.id):
            parts.append(_message_markdown(msg, reasoning=reasoning))
    return "\n".join(parts).rstrip() + "\n"


def _message_markdown(msg: Message, *, reasoning: bool) -> str:
    lines = [f"## {msg.role.value.capitalize()} · {_when(msg.created_at)}", ""]
    for att in msg.attachments:
        cost = f", {att.tokens} tokens" if att.tokens is not None else ""
        lines.append(f"- 📎 {att.name} ({att.kind}{cost}, sha256 {att.sha256[:12]})")
    if msg.attachments:
        lines.append("")
    if reasoning and msg.reasoning:
        quoted = "\n".join(f"> {line}" for line in msg.reasoning.splitlines())
        lines += ["<details><summary>Thinking</summary>", "", quoted, "", "</details>", ""]
    lines.append(msg.text)
    if msg.state is not MessageState.COMPLETE:
        lines += ["", f"_({msg.state.value}{': ' + msg.error if msg.error else ''})_"]
    return "\n".join(lines) + "\n"


def to_json(store: Store, conversation_ids: Sequence[int] | None = None, *, reasoning: bool = True) -> str:
    payload: dict[str, Any] = {"format": "mimo-desktop-export", "version": 1, "conversations": []}
    for conv in _pick(store, conversation_ids):
        messages = store.all_messages(conv.id)
        payload["conversations"].append(
            {
                "id": conv.id,
                "title": conv.title,
                "created_at": conv.created_at,
                "updated_at": conv.updated_at,
                "current_leaf_id": conv.current_leaf_id,
                "settings": conv.settings,
                "messages": [_message_json(m, reasoning=reasoning) for m in messages],
            }
        )
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def _message_json(msg: Message, *, reasoning: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": msg.id,
        "parent_id": msg.parent_id,
        "role": msg.role.value,
        "text": msg.text,
        "state": msg.state.value,
        "error": msg.error,
        "created_at": msg.created_at,
        "updated_at": msg.updated_at,
        "stats": msg.stats.to_dict(),
        "attachments": [
            {"name": a.name, "kind": a.kind, "sha256": a.sha256, "size": a.size, "mime": a.mime, "tokens": a.tokens}
            for a in msg.attachments
        ],
    }
    if reasoning:
        data["reasoning"] = msg.reasoning
    return data


def export(store: Store, fmt: str, conversation_ids: Sequence[int] | None = None, *, reasoning: bool = False) -> str:
    if fmt == "md":
        return to_markdown(store, conversation_ids, reasoning=reasoning)
    if fmt == "json":
        return to_json(store, conversation_ids, reasoning=True)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
