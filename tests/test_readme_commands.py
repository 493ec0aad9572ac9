"""The README's run command, as a new user types it: a fresh clone, a fresh virtual environment, the
window shown. Once as on a machine without NVIDIA GPUs (the app alone), once as on one with them
(a fake ``nvidia-smi`` makes run-app.sh add the ``gpu`` extra, vLLM).

Slow (minutes: the installs are real, from the package indexes pip is configured with, through its
own download cache where the index allows caching). Nothing is shared with the environment the suite
runs in; each fresh environment (about 8-11 GB) is deleted once checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT_S = 1800

FAKE_NVIDIA_SMI = {
    # run-app.sh asks `nvidia-smi -L`; a machine with GPUs lists them, one without has no working tool
    True: '#!/bin/sh\n[ "$1" = "-L" ] && echo "GPU 0: NVIDIA H200 (UUID: GPU-00000000-fake)"\nexit 0\n',
    False: "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver.' >&2\nexit 9\n",
}


def fresh_clone(target: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(ROOT), str(target)], check=True)
    return target


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
@pytest.mark.parametrize("gpus", [False, True], ids=["without-gpus", "with-gpus"])
def test_the_readme_run_command_shows_the_window_in_a_fresh_clone(tmp_path, gpus):
    if shutil.which("git") is None:
        pytest.skip("git is needed to clone the repository")
    clone = fresh_clone(tmp_path / "clone")
    try:
        check_run_command(clone, tmp_path, gpus)
    finally:
        shutil.rmtree(clone, ignore_errors=True)


def check_run_command(clone: Path, tmp_path: Path, gpus: bool) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    smi = fake_bin / "nvidia-smi"
    smi.write_text(FAKE_NVIDIA_SMI[gpus])
    smi.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{fake_bin}{os.pathsep}{env.get('PATH', '')}", QT_QPA_PLATFORM="offscreen",
               MIMO_DESKTOP_EXIT_WHEN_SHOWN="1", MIMO_DESKTOP_HOME=str(tmp_path / "home"))
    started = time.monotonic()
    run = subprocess.run(["bash", "scripts/run-app.sh"], cwd=clone, env=env, capture_output=True, text=True,
                         timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL)
    took = time.monotonic() - started
    print(f"README run command ({'with' if gpus else 'without'} GPUs): {took:.0f} s")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    shown = [line for line in run.stdout.splitlines() if line.startswith("shown ")]
    assert shown and shown[-1].endswith("heavy_modules=none"), run.stdout[-2000:]
    has_vllm = subprocess.run([str(clone / ".venv/bin/python"), "-c",
                               "import importlib.util; print(importlib.util.find_spec('vllm') is not None)"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert has_vllm == str(gpus), f"vLLM installed: {has_vllm}, GPUs: {gpus}"
    again = subprocess.run(["bash", "scripts/run-app.sh"], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=300, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and "installing" not in again.stdout, again.stdout[-2000:]  # idempotent
