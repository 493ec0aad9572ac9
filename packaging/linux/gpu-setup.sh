#!/bin/sh
# /usr/bin/mimo-desktop-gpu-setup: add the embedded vLLM engine to MiMo Desktop, for people with NVIDIA GPUs.
#
# Makes a Python environment in your data folder with this version of MiMo Desktop and its `gpu` extra
# (vLLM @VLLM_VERSION@ and the CUDA build of PyTorch from PyPI: about 7 GB on disk with 0.33.0), shows pip's progress while it
# downloads, checks the result, and only then lets the `mimo-desktop` command start it. Nothing outside your data
# folder changes; `--remove` deletes it again. Why a separate environment: docs/packaging.md, "GPU engine".
set -eu
version="@VERSION@"
prefix=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)  # "/" installed; an unpacked root in tests
wheel="${prefix%/}/opt/mimo-desktop/share/@WHEEL@"
gpu_env="${MIMO_DESKTOP_GPU_ENV:-${XDG_DATA_HOME:-$HOME/.local/share}/mimo-desktop/gpu-env}"
python="${PYTHON:-python3}"
dry_run=""

usage() {
    echo "usage: mimo-desktop-gpu-setup [--dry-run] [--remove] [--python PYTHON]"
    echo "Install the embedded vLLM engine (about 7 GB) into $gpu_env"
}
fail() { echo "mimo-desktop-gpu-setup: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1 ;;
        --remove) rm -rf "$gpu_env" "$gpu_env.partial"; echo "removed $gpu_env"; exit 0 ;;
        --python) [ $# -ge 2 ] || { usage >&2; exit 2; }; python="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

[ -f "$wheel" ] || fail "the package is incomplete: $wheel is missing (reinstall mimo-desktop)"
command -v "$python" >/dev/null 2>&1 || fail "$python was not found; install Python 3.11 or newer (sudo apt install python3)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "$python is older than 3.11; pass a newer one with --python"
"$python" -c 'import ensurepip, venv' 2>/dev/null \
    || fail "$python cannot make environments; install python3-venv (sudo apt install python3-venv)"
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "note: nvidia-smi was not found; the embedded engine needs an NVIDIA GPU and its driver" >&2
fi

echo "MiMo Desktop $version: installing the embedded engine (vLLM @VLLM_VERSION@, ~7 GB) into $gpu_env"
if [ -n "$dry_run" ]; then
    echo "would run: $python -m venv $gpu_env.partial"
    echo "would run: $gpu_env.partial/bin/python -m pip install '$wheel[gpu]'"
    exit 0
fi
rm -rf "$gpu_env.partial"
mkdir -p "$(dirname "$gpu_env")"
"$python" -m venv "$gpu_env.partial"
"$gpu_env.partial/bin/python" -m pip install --progress-bar on "$wheel[gpu]" \
    || fail "pip could not install the engine (see above); nothing was changed"
"$gpu_env.partial/bin/python" -c 'import vllm' \
    || fail "vLLM was installed but does not import (see above); nothing was changed"
echo "$version" > "$gpu_env.partial/mimo-desktop-version"
rm -rf "$gpu_env"
mv "$gpu_env.partial" "$gpu_env"
echo "done: \`mimo-desktop\` now starts with the embedded engine (mimo-desktop-gpu-setup --remove undoes it)"
