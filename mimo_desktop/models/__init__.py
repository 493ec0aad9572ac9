"""Getting the model: check a local checkpoint folder, estimate GPU fit, download from the Hugging Face Hub.

No Qt, no torch or vLLM at import. The download side (httpx, huggingface_hub) loads on first use.
"""

from __future__ import annotations

from typing import Any

from mimo_desktop.models.errors import (
    DownloadCancelled, DownloadError, FitError, ModelFolderError, ModelsError, NotEnoughDiskError, RepoAccessError,
)
from mimo_desktop.models.fit import (
    FitEstimate, estimate_fit, estimate_fit_for, minimum_tp, needs_per_gpu, valid_tp_sizes,
)
from mimo_desktop.models.folder_check import check_model_folder
from mimo_desktop.models.gpus import GpuInfo, GpuSurvey, detect_gpus
from mimo_desktop.models.progress import DownloadProgress, FileProgress, ProgressListener
from mimo_desktop.models.report import Feature, ModelFolderReport, Problem

_LAZY = {
    "ModelDownload": "mimo_desktop.models.downloader",
    "download_model": "mimo_desktop.models.downloader",
    "plan_download": "mimo_desktop.models.download_plan",
    "DownloadPlan": "mimo_desktop.models.download_plan",
    "read_hub_token": "mimo_desktop.models.hub_token",
    "save_hub_token": "mimo_desktop.models.hub_token",
    "delete_hub_token": "mimo_desktop.models.hub_token",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mimo_desktop.models' has no attribute {name!r}")


__all__ = [
    "DownloadCancelled", "DownloadError", "DownloadPlan", "DownloadProgress", "Feature", "FileProgress", "FitError",
    "FitEstimate", "GpuInfo", "GpuSurvey", "ModelDownload", "ModelFolderError", "ModelFolderReport", "ModelsError",
    "NotEnoughDiskError", "Problem", "ProgressListener", "RepoAccessError", "check_model_folder", "delete_hub_token",
    "detect_gpus", "download_model", "estimate_fit", "estimate_fit_for", "minimum_tp", "needs_per_gpu", "plan_download", "read_hub_token",
    "save_hub_token", "valid_tp_sizes",
]
