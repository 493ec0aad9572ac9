"""How this installation of MiMo Desktop gets the embedded vLLM engine: it depends on how it was installed."""

from __future__ import annotations

import sys


def add_vllm_hint() -> str:
    """The command a person should run to add vLLM 0.33.0 here."""
    if getattr(sys, "frozen", False):
        # The packaged app (/opt/mimo-desktop) has no pip; its own setup command builds a GPU environment.
        return "run `mimo-desktop-gpu-setup` in a terminal (it installs vLLM 0.33.0, about 7 GB)"
    return "`pip install 'mimo-desktop[gpu]'` (vllm==0.33.0, Linux with NVIDIA GPUs)"
