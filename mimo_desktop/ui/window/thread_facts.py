"""Small facts about a thread the controller needs (its title, the context it takes), the notice
shown without an engine, and exporting a conversation through a save dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from mimo_desktop.core.conversation import Message
from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store

TITLE_WORDS = 8


def title_from(text: str) -> str:
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])
    return title + ("…" if len(words) > TITLE_WORDS else "")


NO_ENGINE = (
    "No engine is configured, so nobody will answer yet. Your message is saved. "
    "Open Settings to choose an embedded vLLM model folder or a remote server."
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


def export_with_dialog(parent: QWidget, store: Store, conversation_id: int, fmt: str) -> None:
    """Ask where, then write the conversation as Markdown or JSON (atomically); failures are said.

    ``md+thinking`` is Markdown with each answer's thinking in a folded block (JSON always has it)."""
    from mimo_desktop.core.export import export
    from mimo_desktop.core.export_cli import write_atomically

    fmt, _, extra = fmt.partition("+")
    suffix = {"md": "Markdown (*.md)", "json": "JSON (*.json)"}[fmt]
    path, _ = QFileDialog.getSaveFileName(parent, "Export conversation", f"conversation.{fmt}", suffix)
    if not path:
        return
    try:
        write_atomically(Path(path), export(store, fmt, [conversation_id], reasoning=extra == "thinking"))
    except (StoreError, OSError) as exc:
        QMessageBox.warning(parent, "Export failed", f"The conversation was not exported: {exc}")
