"""Sampling fields (temperature, top-p, top-k, max tokens, system prompt), used for the global
defaults and for one conversation's overrides. "Model default" leaves the value to the model's
generation_config (the engine applies it)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QPlainTextEdit, QSpinBox, QWidget

MODEL_DEFAULT = "model default"
# The chat template's thinking switch: (label, stored value).
THINKING_CHOICES = (("Model default", None), ("Think before answering", True), ("Answer directly", False))


class SamplingForm(QWidget):
    def __init__(self, prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.temperature = self._double(f"{prefix}Temperature", -0.1, 2.0, 0.05, "Temperature")
        self.top_p = self._double(f"{prefix}TopP", 0.0, 1.0, 0.05, "Top-p")
        self.top_k = QSpinBox(minimum=-1, maximum=1000)
        self.top_k.setSpecialValueText(MODEL_DEFAULT)
        self.top_k.setObjectName(f"{prefix}TopK")
        self.top_k.setAccessibleName("Top-k")
        self.max_tokens = QSpinBox(minimum=1, maximum=262144, singleStep=256)
        self.max_tokens.setObjectName(f"{prefix}MaxTokens")
        self.max_tokens.setAccessibleName("Max tokens")
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setObjectName(f"{prefix}SystemPrompt")
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setPlaceholderText("Optional instructions sent before the conversation")
        self.system_prompt.setMaximumHeight(90)
        self.thinking = QComboBox()
        self.thinking.setObjectName(f"{prefix}Thinking")
        self.thinking.setAccessibleName("Thinking")
        self.thinking.setToolTip("MiMo-V2.5 can think before it answers; the thinking is shown folded above "
                                 "the answer. Only models whose chat template has a thinking switch obey it.")
        for label, value in THINKING_CHOICES:
            self.thinking.addItem(label, value)
        form = QFormLayout(self)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Top-k", self.top_k)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Thinking", self.thinking)
        form.addRow("System prompt", self.system_prompt)

    @staticmethod
    def _double(name: str, low: float, high: float, step: float, label: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(minimum=low, maximum=high, singleStep=step, decimals=2)
        box.setSpecialValueText(MODEL_DEFAULT)  # shown at the minimum
        box.setObjectName(name)
        box.setAccessibleName(label)
        return box

    def load(self, values: dict[str, Any]) -> None:
        t, p, k = values.get("temperature"), values.get("top_p"), values.get("top_k")
        self.temperature.setValue(self.temperature.minimum() if t is None else float(t))
        self.top_p.setValue(self.top_p.minimum() if p is None else float(p))
        self.top_k.setValue(self.top_k.minimum() if k is None else int(k))
        self.max_tokens.setValue(int(values.get("max_tokens") or 2048))
        self.system_prompt.setPlainText(values.get("system_prompt") or "")
        wanted = values.get("thinking")
        self.thinking.setCurrentIndex(next(i for i, (_, v) in enumerate(THINKING_CHOICES) if v is wanted))

    def values(self) -> dict[str, Any]:
        def unless_min(box):
            return None if box.value() == box.minimum() else box.value()

        return {
            "temperature": unless_min(self.temperature),
            "top_p": unless_min(self.top_p),
            "top_k": unless_min(self.top_k),
            "max_tokens": self.max_tokens.value(),
            "system_prompt": self.system_prompt.toPlainText().strip(),
            "thinking": self.thinking.currentData(),
        }
