#!/usr/bin/env bash
# Build dist/mimo-desktop_<version>_amd64.deb: PyInstaller bundle -> package tree -> dpkg-deb (zstd).
# `make package` runs this. Environment:
#   PYTHON            the environment with the app's dependencies and PyInstaller (default .venv/bin/python)
#   MIMO_DEB_ZSTD     zstd level for the .deb (default 9; 19 is 10% smaller and 12x slower: docs/benchmarks-packaging.md)
#   MIMO_REUSE_BUNDLE 1 = keep an existing build/bundle (only the package step runs again)
#   MIMO_BUILD_DIR    where intermediate files go (default build); MIMO_DIST_DIR: where the .deb goes (default dist)
#                     (tests/packaging builds in a temporary folder, so a test run and `make package` never collide)
# Needs: dpkg-deb, readelf (binutils), cc (for the CUDA stand-ins, packaging/cuda_stubs.py), dpkg -S.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
LEVEL="${MIMO_DEB_ZSTD:-9}"
BUILD="${MIMO_BUILD_DIR:-build}"
DIST="${MIMO_DIST_DIR:-dist}"
mkdir -p "$BUILD" "$DIST"
exec 9>"$BUILD/.build_deb.lock"
flock 9  # one build at a time per build folder: a second one waits rather than deleting files under the first
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' mimo_desktop/__init__.py)
[ -n "$version" ] || { echo "build_deb: no __version__ in mimo_desktop/__init__.py" >&2; exit 1; }
for tool in dpkg-deb readelf cc; do
    command -v "$tool" >/dev/null || { echo "build_deb: $tool is missing (apt install dpkg binutils gcc)" >&2; exit 1; }
done
vllm_version=$("$PYTHON" - <<'EOF'
import re, tomllib
gpu = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["gpu"]
print(next(re.sub(r"^vllm==", "", d) for d in gpu if d.startswith("vllm==")))
EOF
)
deb="$DIST/mimo-desktop_${version}_amd64.deb"
root="$BUILD/deb-root"
bundle="$BUILD/bundle/mimo-desktop"
started=$(date +%s)

if [ "${MIMO_REUSE_BUNDLE:-}" != 1 ] || [ ! -x "$bundle/mimo-desktop" ]; then
    echo "==> PyInstaller bundle ($bundle)"
    if ! MIMO_PACKAGING_WORK="$BUILD/pyinstaller" "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
            --distpath "$BUILD/bundle" --workpath "$BUILD/pyinstaller" packaging/mimo-desktop.spec \
            > "$BUILD/pyinstaller.log" 2>&1; then
        tail -n 40 "$BUILD/pyinstaller.log" >&2
        echo "build_deb: PyInstaller failed (whole log: $BUILD/pyinstaller.log)" >&2
        exit 1
    fi
    grep "^mimo-desktop.spec:" "$BUILD/pyinstaller.log" || true
fi
bundled=$(date +%s)

echo "==> wheel of the app, for mimo-desktop-gpu-setup"
# From a copy of the sources: setuptools writes build/ and *.egg-info next to what it builds.
rm -rf "$BUILD/wheel" "$BUILD/wheel-src"
mkdir -p "$BUILD/wheel-src"
cp -r pyproject.toml README.md mimo_desktop "$BUILD/wheel-src/"
find "$BUILD/wheel-src" -name __pycache__ -prune -exec rm -rf {} +
if ! "$PYTHON" -m pip wheel --no-deps --wheel-dir "$BUILD/wheel" "$BUILD/wheel-src" > "$BUILD/wheel.log" 2>&1; then
    tail -n 30 "$BUILD/wheel.log" >&2
    echo "build_deb: could not build the app's wheel (whole log: $BUILD/wheel.log)" >&2
    exit 1
fi
wheel=$(cd "$BUILD/wheel" && ls mimo_desktop-"$version"-*.whl)

echo "==> package tree ($root)"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" "$root/usr/share/metainfo" \
    "$root/usr/share/icons/hicolor/scalable/apps" "$root/usr/share/doc/mimo-desktop"
cp -al "$bundle" "$root/opt/mimo-desktop"  # hard links: no second copy of 1.3 GB
mkdir -p "$root/opt/mimo-desktop/share"
cp "$BUILD/wheel/$wheel" "$root/opt/mimo-desktop/share/"
sed "s/@VERSION@/$version/g" packaging/linux/launcher.sh > "$root/usr/bin/mimo-desktop"
sed "s/@VERSION@/$version/g; s/@WHEEL@/$wheel/g; s/@VLLM_VERSION@/$vllm_version/g" packaging/linux/gpu-setup.sh \
    > "$root/usr/bin/mimo-desktop-gpu-setup"
chmod 0755 "$root/usr/bin/mimo-desktop" "$root/usr/bin/mimo-desktop-gpu-setup"
cp resources/mimo-desktop.desktop "$root/usr/share/applications/"
cp resources/*.metainfo.xml "$root/usr/share/metainfo/"
cp resources/mimo-desktop.svg "$root/usr/share/icons/hicolor/scalable/apps/"
QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/render_icons.py resources/mimo-desktop.svg \
    "$root/usr/share/icons/hicolor" >/dev/null
cp packaging/linux/copyright "$root/usr/share/doc/mimo-desktop/copyright"
chmod -R u+rwX,go+rX,go-w "$root"

depends=$("$PYTHON" packaging/debian_depends.py "$root/opt/mimo-desktop" packaging/linux/depends.txt)
installed_kib=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: mimo-desktop
Version: $version
Architecture: amd64
Maintainer: MiMo Desktop developers <mimo-desktop@users.noreply.github.com>
Installed-Size: $installed_kib
Depends: $depends
Suggests: python3-venv, nvidia-driver
Section: science
Priority: optional
Description: chat with omni-modal MiMo models about images, video and sound
 MiMo Desktop is a native app for talking with Xiaomi's omni-modal MiMo-V2.5
 models: drag in a photo, a video clip or a recording, ask a question, and
 watch the answer stream in from an OpenAI-compatible server (vLLM, SGLang).
 .
 People with NVIDIA GPUs can add the embedded vLLM engine with
 mimo-desktop-gpu-setup.
EOF

echo "==> dpkg-deb (zstd -$LEVEL)"
# Written beside, then renamed: whoever reads the .deb meanwhile sees the old one or the new one, whole.
dpkg-deb --root-owner-group -Zzstd -z"$LEVEL" --build "$root" "$deb.partial" >/dev/null
mv -f "$deb.partial" "$deb"
finished=$(date +%s)

bundle_mib=$(du -sm "$bundle" | cut -f1)
deb_mib=$(( $(stat -c %s "$deb") / 1048576 ))
report="$BUILD/package-report.txt"
{
    echo "deb=$deb"
    echo "bundle_mib=$bundle_mib"
    echo "installed_kib=$installed_kib"
    echo "deb_mib=$deb_mib"
    echo "zstd_level=$LEVEL"
    echo "bundle_seconds=$((bundled - started))"
    echo "package_seconds=$((finished - bundled))"
    echo "total_seconds=$((finished - started))"
} > "$report"
echo "==> $deb: ${deb_mib} MiB (bundle ${bundle_mib} MiB; bundle $((bundled - started)) s, package $((finished - bundled)) s)"
