"""The notice shown without an engine, and exporting a conversation through a save dialog.

A thread's title and the context it takes are Qt-free: ``core.titles`` and ``core.budget``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from mimo_desktop.core.errors import StoreError
from mimo_desktop.core.store import Store

NO_ENGINE = (
    "No engine is configured, so nobody will answer yet. Your message is saved. "
    "Open Settings to choose an embedded vLLM model folder or a remote server."
)


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
