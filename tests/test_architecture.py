"""The shape of the package, enforced: PySide6 only under mimo_desktop/ui, layers respected."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 2 kept, 0 broken" in out.stdout


def test_gui_start_up_path_does_not_import_torch_or_vllm():
    code = (
        "import sys; import mimo_desktop.app, mimo_desktop.ui.window.controller, mimo_desktop.ui.window.main;"
        "print(sorted(m for m in ('torch','vllm','torchcodec','torchaudio','numpy','PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
