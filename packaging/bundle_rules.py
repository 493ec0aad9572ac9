"""What goes into the desktop bundle and what stays out; used by packaging/mimo-desktop.spec.

Kept apart from the spec so the rules can be read (and tested) without running PyInstaller.
"""

from __future__ import annotations

import re
from pathlib import Path

# The build venv also holds the GPU stack (vLLM and everything it pulls in). PyInstaller's analysis follows
# imports inside functions too (mimo_desktop.engine.vllm_* import vLLM lazily), so these must be excluded by
# name or the bundle grows by gigabytes. The bundle is the CPU desktop app; the embedded engine lives in a
# separate environment (docs/packaging.md, "GPU engine").
EXCLUDED_MODULES = [
    # the GPU engine and its compilers/kernels
    "vllm", "transformers", "triton", "flashinfer", "xgrammar", "tilelang", "tokenspeed_triton",
    "tokenspeed_mla", "humming", "quack", "cutlass", "nvidia_cutlass_dsl", "tvm_ffi", "numba", "llvmlite",
    "xformers", "compressed_tensors", "outlines_core", "lmformatenforcer", "llguidance", "mistral_common",
    "openai_harmony", "fastsafetensors", "depyf", "torch_c_dlpack_ext", "cutile_cache",
    # NVIDIA's Python packages: their hooks would copy ~3 GB of CUDA libraries (see cuda_stubs.py)
    "nvidia", "cuda", "cudnn", "PyNvVideoCodec", "nvtx", "cupy",
    # vLLM's server side
    "fastapi", "fastapi_cli", "fastapi_cloud_cli", "uvicorn", "starlette", "sse_starlette", "uvloop",
    "openai", "anthropic", "mcp", "mcp_types", "ray", "zmq", "grpc", "opentelemetry", "prometheus_client",
    "prometheus_fastapi_instrumentator", "sentry_sdk", "supervisor", "watchfiles", "websockets",
    # heavy optional imports of torch and friends that the app does not use
    "torchvision", "cv2", "tiktoken", "sentencepiece", "z3", "tensorboard", "matplotlib", "pandas",
    "scipy", "IPython", "jupyter_client", "onnx", "onnxruntime",
    # development tools
    "pytest", "_pytest", "pytestqt", "hypothesis", "importlinter", "grimp", "PyInstaller", "pip", "tkinter",
]

# Python packages whose *any* file in the bundle means the exclusion failed (checked by tests/packaging).
MUST_NOT_SHIP = ("vllm", "transformers", "triton", "flashinfer", "xgrammar", "numba")

# Never useful in the CPU bundle: torch's CUDA linear algebra and NVRTC glue (dlopened only on a GPU; they
# link cuSOLVER and the driver's libcuda), and Qt's GTK theme plugin (it needs GTK 3, which the package does
# not depend on; Qt uses the XDG desktop portal theme instead).
DROPPED_LIBRARIES = re.compile(r"(^|/)(libtorch_cuda_linalg\.so|libcaffe2_nvrtc\.so|libqgtk3\.so)$")
# torch's copies of protoc and ptxas (CUDA kernel compilation): 47 MB the CPU app never runs.
DROPPED_FILES = re.compile(r"^torch/bin/(protoc|ptxas)")

_SYSTEM_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/")
_NVIDIA_WHEEL_LIB = re.compile(r"/site-packages/nvidia/[^/]+/lib/[^/]+\.so(\.\d+)*$")


def is_system_library(source: str) -> bool:
    """A library from the distribution: the .deb depends on its package instead of copying it.

    FFmpeg above all: Debian's build is GPL, so it must come from the user's system, not from our package.
    """
    return source.startswith(_SYSTEM_DIRS)


def is_cuda_library(source: str) -> bool:
    """A library from an nvidia-* wheel: replaced by a stand-in (cuda_stubs.py) in the bundle."""
    return bool(_NVIDIA_WHEEL_LIB.search(source))


def split_binaries(binaries: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """Sort PyInstaller's binary TOC (dest, source, kind) into kept, CUDA (to stub), system and dropped."""
    groups: dict[str, list[tuple[str, str, str]]] = {"keep": [], "cuda": [], "system": [], "drop": []}
    for entry in binaries:
        dest, source = entry[0], str(entry[1])
        if DROPPED_LIBRARIES.search(dest) or DROPPED_FILES.search(dest):
            groups["drop"].append(entry)
        elif is_cuda_library(source):
            groups["cuda"].append(entry)
        elif is_system_library(source):
            groups["system"].append(entry)
        else:
            groups["keep"].append(entry)
    return groups


def without_dropped_files(datas: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [entry for entry in datas if not DROPPED_FILES.search(entry[0])]


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in sorted(set(lines))))
