"""Fixtures for the model-folder check and the download dialog: real tiny checkpoints, the loopback fake Hub,
a settings dialog, and GPU surveys standing in for hardware this machine lacks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The checkpoint builders and the fake Hub are the models tests' own; reuse them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))

from fake_hub import FakeHub  # noqa: E402
from model_checkpoints import build_checkpoint, copy_checkpoint  # noqa: E402

from model_ui_support import REPO  # noqa: E402

from mimo_desktop.models import GpuInfo, GpuSurvey  # noqa: E402
from mimo_desktop.models.units import GIB  # noqa: E402
from mimo_desktop.ui.engine import model_check  # noqa: E402
from mimo_desktop.engine.choice import engine_config, sampling_config  # noqa: E402
from mimo_desktop.ui.settings.dialog import SettingsDialog, SettingsValues  # noqa: E402



@pytest.fixture(scope="session")
def _tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("ui-omni") / "MiMo-tiny-omni", audio=True)


@pytest.fixture
def tiny_folder(_tiny_checkpoint: Path, tmp_path: Path) -> Path:
    """A fresh copy of a complete tiny MiMo-V2 Omni checkpoint that the test may damage."""
    return copy_checkpoint(_tiny_checkpoint, tmp_path / "model")


@pytest.fixture
def no_gpus(monkeypatch) -> GpuSurvey:
    """This machine as it is (no GPU), without importing torch for the answer in every test."""
    survey = GpuSurvey((), "none", "no NVIDIA GPU or driver was found")
    monkeypatch.setattr(model_check, "_detect_gpus", lambda: survey)
    return survey


@pytest.fixture
def one_h100(monkeypatch) -> GpuSurvey:
    survey = GpuSurvey((GpuInfo(0, "NVIDIA H100 80GB HBM3", 80 * GIB, 79 * GIB),), "nvml")
    monkeypatch.setattr(model_check, "_detect_gpus", lambda: survey)
    return survey


def settings_values(engine: dict | None = None) -> SettingsValues:
    return SettingsValues(engine=engine_config(engine), sampling=sampling_config({}), conversation_sampling=None,
                          theme="system", api_key="")


@pytest.fixture
def make_settings(qtbot, no_thread_leaks):
    """A real settings dialog on given engine settings; closed (and its check thread stopped) after the test."""
    dialogs: list[SettingsDialog] = []

    def make(engine: dict | None = None) -> SettingsDialog:
        dialog = SettingsDialog(settings_values(engine), conversation_title=None)
        qtbot.addWidget(dialog)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.model_check.shutdown()


@pytest.fixture
def hub(_tiny_checkpoint: Path, monkeypatch, no_thread_leaks):
    """The loopback Hub serving the tiny checkpoint; HF_ENDPOINT points the app at it."""
    from huggingface_hub.utils import close_session

    with FakeHub() as hub:
        hub.add_folder(REPO, _tiny_checkpoint)
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        yield hub
        # huggingface_hub keeps its connections alive in a process-wide client; each holds a server thread.
        close_session()
