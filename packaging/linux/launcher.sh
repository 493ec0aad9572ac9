#!/bin/sh
# /usr/bin/mimo-desktop: start MiMo Desktop.
#
# The package holds the CPU app (remote servers, media on the CPU). When `mimo-desktop-gpu-setup` has made a GPU
# environment for this same version, start that instead: it is the same app plus the embedded vLLM engine, so
# the menu entry, the data and the command stay the same. MIMO_DESKTOP_BUNDLED=1 forces the bundled app.
set -e
version="@VERSION@"
prefix=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)  # "/" installed; an unpacked root in tests
bundle="${prefix%/}/opt/mimo-desktop"
gpu_env="${MIMO_DESKTOP_GPU_ENV:-${XDG_DATA_HOME:-$HOME/.local/share}/mimo-desktop/gpu-env}"

if [ -z "${MIMO_DESKTOP_BUNDLED:-}" ] && [ -x "$gpu_env/bin/mimo-desktop" ]; then
    if [ "$(cat "$gpu_env/mimo-desktop-version" 2>/dev/null)" = "$version" ]; then
        exec "$gpu_env/bin/mimo-desktop" "$@"
    fi
    echo "mimo-desktop: the GPU environment in $gpu_env is not for version $version;" \
         "starting without the embedded engine (run mimo-desktop-gpu-setup to update it)" >&2
fi
exec "$bundle/mimo-desktop" "$@"
