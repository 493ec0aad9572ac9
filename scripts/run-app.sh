#!/usr/bin/env bash
# Set up everything MiMo Desktop needs on this machine, then start it. Extra arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-lib.sh
install_debs "${APP_DEBS[@]}"
extras=""
# With NVIDIA GPUs, add the embedded vLLM engine (vllm 0.33.0); without, the app talks to remote servers.
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then extras="gpu"; fi
ensure_venv "$extras"
exec .venv/bin/mimo-desktop "$@"
