from __future__ import annotations

from pathlib import Path

import pytest

from model_checkpoints import build_checkpoint, copy_checkpoint


@pytest.fixture(scope="session")
def _omni_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("omni") / "MiMo-tiny-omni", audio=True)


@pytest.fixture
def omni_folder(_omni_checkpoint: Path, tmp_path: Path) -> Path:
    """A fresh copy of a complete tiny MiMo-V2 Omni checkpoint (audio + MTP) that a test may damage."""
    return copy_checkpoint(_omni_checkpoint, tmp_path / "model")
