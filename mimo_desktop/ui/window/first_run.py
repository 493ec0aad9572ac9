"""The first-run panel: no engine is configured yet, so explain both ways to connect a model.

History, attachments, capture and token costs keep working without an engine; only answers wait.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from mimo_desktop.core.install_hint import add_vllm_hint

FIRST_RUN_TEXT = """<h3>Connect a model to get answers</h3>
<p>Your conversations, attachments and token costs work already; answers need an engine. Two ways:</p>
<p><b>1. On this computer (embedded vLLM)</b> — needs Linux with NVIDIA GPUs and vLLM
({install}). Download MiMo-V2.5 with <b>Download a model…</b> below
(or <code>huggingface-cli download XiaomiMiMo/MiMo-V2.5 --local-dir ~/models/MiMo-V2.5</code>),
then choose that folder in Settings. Starting takes about a minute.</p>
<p><b>2. A server (OpenAI-compatible)</b> — a vLLM or SGLang server running MiMo-V2.5, e.g.
<code>vllm serve XiaomiMiMo/MiMo-V2.5 --trust-remote-code</code> on a GPU machine. Enter its URL
(and API key, kept in your system keyring) in Settings.</p>"""


# The same advice as the engine's VLLM_MISSING, without loading the engine package at start-up.
VLLM_MISSING_NOTE = (f"This installation has no vLLM, so the embedded engine cannot run here. To add it, "
                     f"{add_vllm_hint()}; or use a server.")


def _as_html(hint: str) -> str:
    """`command` in the hint becomes <code>command</code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(hint, quote=False))


class FirstRunPanel(QFrame):
    settingsRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunPanel")
        self.setAccessibleName("Connect a model")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel(FIRST_RUN_TEXT.format(install=_as_html(add_vllm_hint())))
        self.text.setObjectName("firstRunText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settings_button = QPushButton("Open Settings…")
        self.settings_button.setObjectName("firstRunSettingsButton")
        self.settings_button.setAccessibleName("Open engine settings")
        self.settings_button.clicked.connect(self.settingsRequested)
        self.download_button = QPushButton("Download a model…")
        self.download_button.setObjectName("firstRunDownloadButton")
        self.download_button.setAccessibleName("Download a model from the Hugging Face Hub")
        self.download_button.clicked.connect(self._on_download)
        self.vllm_note = QLabel()
        self.vllm_note.setObjectName("vllmMissingNote")
        self.vllm_note.setWordWrap(True)
        self.vllm_note.hide()
        row = QHBoxLayout()
        row.addWidget(self.settings_button)
        row.addWidget(self.download_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.vllm_note)
        layout.addLayout(row)

    def set_vllm_missing(self, message: str) -> None:
        """Say up front when the embedded way cannot work in this installation."""
        self.vllm_note.setText(message)
        self.vllm_note.setVisible(bool(message))

    @Slot()
    def _on_download(self) -> None:
        from ..engine.download_dialog import DownloadDialog  # loaded when the user asks for it, not at start-up

        dialog = DownloadDialog(self.window())
        dialog.modelChosen.connect(self._on_model_chosen)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.download_dialog = dialog

    @Slot(str)
    def _on_model_chosen(self, folder: str) -> None:
        """Open Settings on the embedded engine with the downloaded folder filled in and checked."""
        self.settingsRequested.emit()  # the window opens the settings dialog synchronously
        dialogs = [d for d in self.window().findChildren(QDialog, "settingsDialog") if d.isVisible()]
        if dialogs:
            dialogs[-1].use_model_folder(folder)
