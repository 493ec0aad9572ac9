"""The settings dialog: which engine (embedded vLLM or a remote server), sampling defaults, this
conversation's overrides, and the theme. It edits plain dicts; the controller stores them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mimo_desktop.engine.choice import engine_config

from .sampling_form import SamplingForm
from ..window.theme import THEME_CHOICES

ENGINE_KINDS = (("none", "No engine"), ("vllm", "Embedded vLLM (GPUs in this computer)"),
                ("remote", "Remote server (OpenAI-compatible)"))
ATTENTION_BACKENDS = ("TRITON_ATTN_DIFFKV", "FLASH_ATTN", "FLASHINFER", "TRITON_ATTN", "")
ENCODER_BACKENDS = ("TORCH_SDPA", "FLASH_ATTN", "")
AUTO = "(vLLM chooses)"


@dataclass
class SettingsValues:
    engine: dict[str, Any]
    sampling: dict[str, Any]
    conversation_sampling: dict[str, Any] | None  # None: no override for this conversation
    theme: str
    api_key: str


def _seconds_box(name: str, label: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(minimum=1.0, maximum=3600.0, singleStep=5.0, decimals=0, objectName=name)
    box.setAccessibleName(label)
    box.setSuffix(" s")
    return box


def _backend_box(name: str, label: str, choices: tuple[str, ...]) -> QComboBox:
    box = QComboBox(editable=True)
    box.setObjectName(name)
    box.setAccessibleName(label)
    box.addItems([c or AUTO for c in choices])
    return box


class SettingsDialog(QDialog):
    probed = Signal(object)  # a connection test's Probe, emitted on its thread

    def __init__(self, values: SettingsValues, *, conversation_title: str | None,
                 vllm_note: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        tabs = QTabWidget()
        tabs.addTab(self._engine_tab(vllm_note), "Engine")
        self.sampling = SamplingForm("sampling")
        tabs.addTab(self.sampling, "Sampling")
        tabs.addTab(self._conversation_tab(conversation_title), "This conversation")
        tabs.addTab(self._appearance_tab(), "Appearance")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_blocked = QLabel(objectName="saveBlocked", wordWrap=True, visible=False)
        self.save_blocked.setStyleSheet("color: #b3261e")
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.save_blocked)
        layout.addWidget(buttons)
        self.tabs = tabs
        self.kind.currentIndexChanged.connect(self._update_save)
        self.finished.connect(self.model_check.shutdown)
        self.load(values)
        self.resize(600, 660)  # room for the model folder check under the folder

    # ------------------------------------------------------------------ tabs
    def _engine_tab(self, vllm_note: str) -> QWidget:
        self.kind = QComboBox()
        self.kind.setObjectName("engineKind")
        self.kind.setAccessibleName("Engine")
        for key, label in ENGINE_KINDS:
            self.kind.addItem(label, key)
        self.pages = QStackedWidget()
        self.pages.addWidget(QLabel("Without an engine you can read and organise conversations; "
                                    "nobody answers."))
        self.pages.addWidget(self._vllm_page(vllm_note))
        self.pages.addWidget(self._remote_page())
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.kind)
        layout.addWidget(self.pages, 1)
        return page

    def _vllm_page(self, vllm_note: str) -> QWidget:
        self.model_dir = QLineEdit(objectName="modelDir", placeholderText="Folder with config.json and weights")
        self.model_dir.setAccessibleName("Model folder")
        browse = QPushButton("Browse…", objectName="browseModelDir")
        browse.setAccessibleName("Browse for the model folder")
        browse.clicked.connect(self._on_browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.model_dir, 1)
        folder_row.addWidget(browse)
        from ..engine.model_check import ModelCheckPanel  # loaded when Settings opens, never at start-up

        self.model_check = ModelCheckPanel()
        self.model_check.checkChanged.connect(self._on_check_changed)
        self._save_when_checked = False  # Save was pressed while the folder's check was still running
        self.model_check.downloadRequested.connect(self._on_download)
        self.model_check.check_button.clicked.connect(self._check_model_dir)
        self.model_dir.editingFinished.connect(self._on_model_dir_edited)
        self.tensor_parallel = QSpinBox(minimum=0, maximum=64, objectName="tensorParallel")
        self.tensor_parallel.setSpecialValueText("all visible GPUs")
        self.tensor_parallel.setAccessibleName("GPUs (tensor parallel)")
        self.tensor_parallel.valueChanged.connect(self._on_fit_input)
        self.mtp = QCheckBox("Multi-token prediction (faster answers)", objectName="mtpEnabled")
        self.mtp_tokens = QSpinBox(minimum=1, maximum=3, objectName="mtpTokens")
        self.mtp_tokens.setAccessibleName("Speculative tokens")
        self.mtp.toggled.connect(self.mtp_tokens.setEnabled)
        self.gpu_memory = QDoubleSpinBox(minimum=0.05, maximum=0.98, singleStep=0.01, decimals=2,
                                         objectName="gpuMemoryFraction")
        self.gpu_memory.setAccessibleName("GPU memory fraction")
        self.max_context = QSpinBox(minimum=256, maximum=1_048_576, singleStep=4096, objectName="maxContext")
        self.max_context.setAccessibleName("Max context")
        self.max_context.valueChanged.connect(self._on_fit_input)
        self.attention = _backend_box("attentionBackend", "Attention backend", ATTENTION_BACKENDS)
        self.mtp_attention = _backend_box("mtpAttentionBackend", "MTP attention backend", ATTENTION_BACKENDS)
        self.encoder_attention = _backend_box("encoderAttentionBackend", "Media encoder attention",
                                              ENCODER_BACKENDS)
        page = QWidget()
        form = QFormLayout(page)
        if vllm_note:
            note = QLabel(vllm_note, objectName="vllmMissing", wordWrap=True)
            note.setStyleSheet("color: #b3261e")
            form.addRow(note)
        form.addRow("Model folder", folder_row)
        form.addRow("", self.model_check)
        form.addRow("GPUs (tensor parallel)", self.tensor_parallel)
        form.addRow(self.mtp)
        form.addRow("Speculative tokens", self.mtp_tokens)
        form.addRow("GPU memory fraction", self.gpu_memory)
        form.addRow("Max context (tokens)", self.max_context)
        form.addRow("Attention backend", self.attention)
        form.addRow("MTP attention backend", self.mtp_attention)
        form.addRow("Media encoder attention", self.encoder_attention)
        return page

    def _remote_page(self) -> QWidget:
        self.url = QLineEdit(objectName="remoteUrl", placeholderText="http://gpu-box:8000")
        self.url.setAccessibleName("Server URL")
        self.model_name = QLineEdit(objectName="remoteModel", placeholderText="empty: the server's first model")
        self.model_name.setAccessibleName("Model name")
        self.api_key = QLineEdit(objectName="apiKey", echoMode=QLineEdit.EchoMode.Password)
        self.api_key.setAccessibleName("API key")
        self.api_key.setPlaceholderText("optional; kept in the system keyring, not in the database")
        self.first_token_timeout = _seconds_box("firstTokenTimeout", "First token within (seconds)")
        self.first_token_timeout.setToolTip("Give up when no token arrived this long after sending: it includes the "
                                            "server reading the prompt and its media.")
        self.token_timeout = _seconds_box("tokenTimeout", "Between tokens within (seconds)")
        self.token_timeout.setToolTip("Give up when a running answer stops for this long.")
        self.test_button = QPushButton("Test connection", objectName="testConnection")
        self.test_button.setAccessibleName("Test the connection to the server")
        self.test_button.clicked.connect(self._on_test_connection)
        self.connection_result = QLabel(objectName="connectionResult", wordWrap=True)
        self.connection_result.setAccessibleName("Connection test result")
        self.connection_result.setTextFormat(Qt.TextFormat.PlainText)
        self.probed.connect(self._on_probed, Qt.ConnectionType.QueuedConnection)
        self._probe_thread: threading.Thread | None = None
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.connection_result, 1)
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("Server URL", self.url)
        form.addRow("Model name", self.model_name)
        form.addRow("API key", self.api_key)
        form.addRow("", test_row)
        form.addRow("First token within (s)", self.first_token_timeout)
        form.addRow("Between tokens within (s)", self.token_timeout)
        return page

    # --------------------------------------------------------- connection test
    @Slot()
    def _on_test_connection(self) -> None:
        """Reach the server and list its models, on a thread: the dialog stays responsive meanwhile."""
        url = self.url.text().strip()
        if not url.startswith(("http://", "https://")):
            self.connection_result.setText("Type the server's URL first, starting with http:// or https://.")
            return
        if self._probe_thread is not None and self._probe_thread.is_alive():
            return
        self.test_button.setEnabled(False)
        self.connection_result.setText("Connecting…")
        key = self.api_key.text().strip() or None

        def probe() -> None:
            from mimo_desktop.engine.remote import probe_server  # httpx: only when asked

            result = probe_server(url, key)
            try:
                self.probed.emit(result)
            except RuntimeError:
                pass  # the dialog was closed meanwhile: nobody to tell

        self._probe_thread = threading.Thread(target=probe, name="mimo-settings-probe", daemon=True)
        self._probe_thread.start()

    @Slot(object)
    def _on_probed(self, result) -> None:
        self.test_button.setEnabled(True)
        self.connection_result.setText(result.message)
        self.connection_result.setStyleSheet("" if result.ok else "color: #b3261e")
        if result.ok and result.models and not self.model_name.text().strip():
            self.model_name.setPlaceholderText(f"empty: the server's first model, {result.models[0].id}")

    def wait_for_probe(self, timeout_s: float = 10.0) -> None:
        """For tests: the probe thread ends within its own timeouts."""
        if self._probe_thread is not None:
            self._probe_thread.join(timeout_s)

    def _conversation_tab(self, title: str | None) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.override = QCheckBox(f"Use different sampling for “{title or 'this conversation'}”",
                                  objectName="overrideSampling")
        self.conversation_sampling = SamplingForm("conversation")
        self.override.toggled.connect(self.conversation_sampling.setEnabled)
        layout.addWidget(self.override)
        layout.addWidget(self.conversation_sampling)
        layout.addStretch(1)
        page.setEnabled(title is not None)
        return page

    def _appearance_tab(self) -> QWidget:
        self.theme = QComboBox(objectName="themeChoice")
        self.theme.setAccessibleName("Theme")
        for key, label in zip(THEME_CHOICES, ("Follow the system", "Light", "Dark")):
            self.theme.addItem(label, key)
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("Theme", self.theme)
        return page

    # ---------------------------------------------------------------- values
    def load(self, values: SettingsValues) -> None:
        cfg = engine_config(values.engine)
        self.kind.setCurrentIndex([k for k, _ in ENGINE_KINDS].index(cfg["kind"]))
        self.pages.setCurrentIndex(self.kind.currentIndex())
        v = cfg["vllm"]
        self.model_dir.setText(str(v["model_dir"]))
        self.tensor_parallel.setValue(int(v["tensor_parallel"] or 0))
        self.mtp.setChecked(bool(v["mtp"]))
        self.mtp_tokens.setValue(int(v["mtp_tokens"]))
        self.mtp_tokens.setEnabled(bool(v["mtp"]))
        self.gpu_memory.setValue(float(v["gpu_memory_fraction"]))
        self.max_context.setValue(int(v["max_context"] or 32768))
        self.attention.setCurrentText(v["attention_backend"] or AUTO)
        self.mtp_attention.setCurrentText(v["mtp_attention_backend"] or AUTO)
        self.encoder_attention.setCurrentText(v["mm_encoder_attention_backend"] or AUTO)
        self.url.setText(cfg["remote"]["url"])
        self.model_name.setText(cfg["remote"]["model"])
        self.first_token_timeout.setValue(float(cfg["remote"]["first_token_timeout_s"]))
        self.token_timeout.setValue(float(cfg["remote"]["token_timeout_s"]))
        self.api_key.setText(values.api_key)
        self.sampling.load(values.sampling)
        self.override.setChecked(values.conversation_sampling is not None)
        self.conversation_sampling.load(values.conversation_sampling or values.sampling)
        self.conversation_sampling.setEnabled(values.conversation_sampling is not None)
        self.theme.setCurrentIndex(max(0, self.theme.findData(values.theme)))
        if cfg["kind"] == "vllm" and self.model_dir.text().strip():
            self._check_model_dir()

    def values(self) -> SettingsValues:
        def backend(box: QComboBox) -> str:
            text = box.currentText().strip()
            return "" if text == AUTO else text

        engine = {
            "kind": self.kind.currentData(),
            "vllm": {
                "model_dir": self.model_dir.text().strip(), "tensor_parallel": self.tensor_parallel.value(),
                "mtp": self.mtp.isChecked(), "mtp_tokens": self.mtp_tokens.value(),
                "gpu_memory_fraction": round(self.gpu_memory.value(), 2), "max_context": self.max_context.value(),
                "attention_backend": backend(self.attention), "mtp_attention_backend": backend(self.mtp_attention),
                "mm_encoder_attention_backend": backend(self.encoder_attention),
            },
            "remote": {"url": self.url.text().strip(), "model": self.model_name.text().strip(),
                       "first_token_timeout_s": self.first_token_timeout.value(),
                       "token_timeout_s": self.token_timeout.value()},
        }
        return SettingsValues(
            engine=engine, sampling=self.sampling.values(),
            conversation_sampling=self.conversation_sampling.values() if self.override.isChecked() else None,
            theme=self.theme.currentData(), api_key=self.api_key.text().strip())

    @Slot()
    def _on_browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_dir.text())
        if folder:
            self.model_dir.setText(folder)
            self._check_model_dir()

    # ------------------------------------------------------ model folder check
    @Slot(str)
    def use_model_folder(self, folder: str) -> None:
        """Point the embedded engine at ``folder`` (a finished download) and check it."""
        self.kind.setCurrentIndex(self.kind.findData("vllm"))
        self.model_dir.setText(folder)
        self._check_model_dir()

    @Slot()
    def _check_model_dir(self) -> None:
        self.model_check.check(self.model_dir.text(), self.tensor_parallel.value() or None, self.max_context.value())

    @Slot()
    def _on_model_dir_edited(self) -> None:
        if self.model_check.checked_folder != self.model_dir.text().strip():
            self._check_model_dir()

    @Slot(int)
    def _on_fit_input(self, _value: int) -> None:
        if self.model_check.checked_folder:  # the fit estimate depends on the TP size and the context
            self._check_model_dir()

    @Slot()
    def _on_download(self) -> None:
        from ..engine.download_dialog import DownloadDialog  # loaded when the user asks for it

        dialog = DownloadDialog(self)
        dialog.modelChosen.connect(self.use_model_folder)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.download_dialog = dialog

    def save_blocked_reason(self) -> str:
        if self.kind.currentData() != "vllm":
            return ""
        return self.model_check.blocking_reason(self.model_dir.text())

    @Slot()
    def _update_save(self) -> None:
        reason = self.save_blocked_reason()
        self.save_button.setEnabled(not reason)
        self.save_blocked.setText(f"Cannot save: {reason} Choose another folder, or download the model." if reason
                                  else "")
        self.save_blocked.setVisible(bool(reason))

    @Slot()
    def _on_check_changed(self) -> None:
        self._update_save()
        if self._save_when_checked and self.model_check.result is not None:
            self._save_when_checked = False
            self.accept()

    def accept(self) -> None:
        folder = self.model_dir.text().strip()
        if self.kind.currentData() == "vllm" and folder:
            if self.model_check.checked_folder != folder:
                self._check_model_dir()  # typed and saved at once: check before the engine tries it
            if self.model_check.result is None:
                self._save_when_checked = True
                return  # saved when the check ends, unless it finds the folder cannot start
        if self.save_blocked_reason():
            self._update_save()
            return  # the engine would only fail to start on this folder
        super().accept()
