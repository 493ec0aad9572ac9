"""Which NVIDIA GPUs this machine has and how much memory each has free.

NVML first: it reads memory without creating a CUDA context (torch.cuda.mem_get_info would leave
~0.5 GiB allocated on every GPU in the app's own process, memory the engine then lacks). torch is
the fall-back. Both are imported only when asked, never on the GUI start-up path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class GpuSurvey:
    gpus: tuple[GpuInfo, ...]
    source: str  # "nvml", "torch" or "none"
    reason: str = ""  # why no GPU was found, in plain words

    def __bool__(self) -> bool:
        return bool(self.gpus)


def detect_gpus() -> GpuSurvey:
    """Look for GPUs the way the engine will see them (CUDA_VISIBLE_DEVICES respected)."""
    nvml = _from_nvml()
    if nvml is not None:
        return nvml
    return _from_torch()


def _visible_indices(count: int) -> list[int]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return list(range(count))
    picked = []
    for item in (i.strip() for i in visible.split(",")):
        if not item.isdigit():
            return [] if item else picked  # UUIDs / MIG names: let torch interpret them instead
        if int(item) >= count:
            break  # CUDA ignores an invalid index and every one after it
        picked.append(int(item))
    return picked


def _from_nvml() -> GpuSurvey | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None  # no driver: let torch say why
    try:
        count = pynvml.nvmlDeviceGetCount()
        indices = _visible_indices(count)
        if not indices and count and os.environ.get("CUDA_VISIBLE_DEVICES", "").strip():
            return None
        gpus = []
        for position, physical in enumerate(indices):
            handle = pynvml.nvmlDeviceGetHandleByIndex(physical)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else name
            gpus.append(GpuInfo(position, name, int(memory.total), int(memory.free)))
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES") is not None and count > 0
        reason = "" if gpus else ("CUDA_VISIBLE_DEVICES hides every GPU" if hidden else "the NVIDIA driver reports no GPU")
        return GpuSurvey(tuple(gpus), "nvml", reason)
    finally:
        pynvml.nvmlShutdown()


def _from_torch() -> GpuSurvey:
    try:
        import torch
    except ImportError:
        return GpuSurvey((), "none", "neither NVML nor PyTorch is installed")
    if not torch.cuda.is_available():
        return GpuSurvey((), "none", "no NVIDIA GPU or driver was found")
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(GpuInfo(index, torch.cuda.get_device_name(index), int(total), int(free)))
    return GpuSurvey(tuple(gpus), "torch")
