"""The engine's state in the status bar: starting (stage, elapsed), ready (GPUs, TP, MTP), failed
(message and a Restart button), and live tokens/s and MTP acceptance while an answer streams."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

if TYPE_CHECKING:  # the engine package (asyncio) loads when an engine starts, not with the window
    from mimo_desktop.engine.types import EngineInfo, EngineStateChanged, EngineStats


def ready_text(info: EngineInfo | None) -> str:
    if info is None:
        return "Engine ready"
    parts = [f"Ready: {info.name}"]
    if info.gpus:
        parts.append(f"{info.gpus} GPU{'s' if info.gpus != 1 else ''}")
        parts.append(f"TP {info.tensor_parallel}" + (f" × PP {info.pipeline_parallel}"
                                                      if info.pipeline_parallel > 1 else ""))
        parts.append(f"MTP {info.mtp_tokens}" if info.mtp_tokens else "MTP off")
    if info.max_context:
        parts.append(f"context {info.max_context:,}")
    return " · ".join(parts)


class EngineStatus(QWidget):
    restartRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("engineStatusBar")
        self.label = QLabel("Engine: not configured")
        self.label.setObjectName("engineStatus")
        self.label.setAccessibleName("Engine status")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.live = QLabel()
        self.live.setObjectName("liveRate")
        self.live.setAccessibleName("Generation speed")
        self.live.hide()
        self.restart_button = QPushButton("Restart engine")
        self.restart_button.setObjectName("restartEngineButton")
        self.restart_button.setAccessibleName("Restart engine")
        self.restart_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.live)
        layout.addWidget(self.label)
        layout.addWidget(self.restart_button)
        self.restart_button.clicked.connect(self.restartRequested)
        self._stats: EngineStats | None = None

    def text(self) -> str:
        return self.label.text()

    def show_not_configured(self, why: str = "") -> None:
        self._set(f"Engine: {why}" if why else "Engine: not configured — open Settings (Ctrl+,)", restart=False)

    def show_problem(self, message: str) -> None:
        """A setting that keeps the engine from starting (no retry button: Settings fixes it)."""
        self._set(f"Engine not started: {message}", restart=False)
        self.label.setToolTip(message)

    def show_state(self, event: EngineStateChanged, info: EngineInfo | None) -> None:
        if event.state == "starting":
            self._set(f"Engine starting: {event.stage} ({event.elapsed_s:.0f} s)", restart=False)
        elif event.state == "ready":
            self._set(ready_text(event.info or info), restart=False)
        elif event.state == "dead":
            self._set(f"Engine failed: {event.message}", restart=True)
            self.label.setToolTip(event.message)
        else:
            self._set("Engine stopped", restart=True)

    def show_stats(self, stats: EngineStats) -> None:
        self._stats = stats

    def show_live(self, tokens_per_s: float | None) -> None:
        """While an answer streams; None hides the figure."""
        if tokens_per_s is None:
            self.live.hide()
            return
        rate = self._stats.generation_tokens_per_s if self._stats and self._stats.generation_tokens_per_s else None
        text = f"{rate if rate is not None else tokens_per_s:.1f} tokens/s"
        if self._stats is not None and self._stats.mtp_acceptance_rate is not None:
            text += f" · MTP acceptance {self._stats.mtp_acceptance_rate:.0%}"
        self.live.setText(text + "  |")
        self.live.show()

    def _set(self, text: str, *, restart: bool) -> None:
        self.label.setText(text)
        self.label.setToolTip("")
        self.restart_button.setVisible(restart)
