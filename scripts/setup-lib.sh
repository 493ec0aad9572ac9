# Shared by run-app.sh and run-tests.sh: install what MiMo Desktop needs on Debian/Ubuntu, idempotently.
# shellcheck shell=bash

# Runtime: FFmpeg libraries for torchcodec (Debian 12 sonames), PulseAudio client (QtMultimedia), xcb for Qt.
APP_DEBS=(libavutil57 libavcodec59 libavformat59 libavdevice59 libavfilter8 libswscale6 libswresample4
          libpulse0 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1
          libdbus-1-3)
# Tests: a real X server for real windows, the ffmpeg CLI to make test media; dpkg-deb, gcc, binutils,
# desktop-file-utils and appstream for the package test (it builds and checks the .deb).
TEST_DEBS=(xvfb ffmpeg dpkg zstd gcc binutils desktop-file-utils appstream)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
    else echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

install_debs() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# ensure_venv EXTRAS: a local .venv with the project installed (editable) with those extras.
ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    [ -x .venv/bin/python ] || "$python" -m venv .venv
    local stamp=".venv/.mimo-installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//[^a-z,]/}"
    if [ ! -f "$stamp" ]; then
        echo "==> installing Python packages into .venv (extras: ${extras:-none})"
        .venv/bin/python -m pip install -q --upgrade pip
        # No extras: plain ".", since pip refuses the empty ".[]".
        local target="."
        [ -n "$extras" ] && target=".[${extras}]"
        .venv/bin/python -m pip install -q -e "$target"
        touch "$stamp"
    fi
}
