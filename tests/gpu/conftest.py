"""GPU proof fixtures: skipped unless CUDA GPUs and vLLM are there (run on the device machine,
`bash scripts/gpu_run.sh`). One engine per module: a TP start costs about a minute."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "engine"))  # engine_events.py
sys.path.insert(0, str(HERE.parent))  # tiny_mimo.py

from gpu_helpers import cuda_gpu_count  # noqa: E402


def pytest_collection_modifyitems(config, items):
    reason = None
    if cuda_gpu_count() == 0:
        reason = "needs CUDA GPUs (run bash scripts/gpu_run.sh on the device machine)"
    else:
        try:
            import vllm  # noqa: F401
        except ImportError:
            reason = "needs vLLM 0.26.0"
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.gpu)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def tiny_omni(tmp_path_factory) -> Path:
    from tiny_mimo import main as write_tiny_mimo

    path = tmp_path_factory.mktemp("gpu") / "tiny-mimo-omni"
    write_tiny_mimo(str(path), omni=True, audio=os.environ.get("MIMO_GPU_AUDIO") == "1")
    return path


@pytest.fixture(scope="session")
def results_dir() -> Path:
    out = Path(os.environ.get("MIMO_GPU_RESULTS", "gpu-results"))
    out.mkdir(parents=True, exist_ok=True)
    return out
