#!/usr/bin/env bash
# Stage bench/media_host.py for a GPU host that has Python 3.12 and torch 2.11 but no FFmpeg and no
# network, then run it there. See docs/benchmarks.md, "Video on the H200 host".
#
#   here:  bash bench/media_host.sh stage DIR          # -> DIR/s1 ... DIR/sN, each <= 62 MB
#   host:  bash DIR/sK/media_host.sh gather DIR/sK     # once per stage folder, in any order
#   host:  bash /tmp/devmedia/media_host.sh install    # after the last one: libraries + wheels
#   host:  bash /tmp/devmedia/media_host.sh run [ARGS] # bench/media_host.py with them on the paths
#
# What travels: torchcodec 0.17.0 (CPU wheel; built for torch's stable ABI of 2.11), opencv-python-headless
# 5.0.0.93 (what vLLM 0.33 gets), soxr, platformdirs (the host has none); Debian 12's FFmpeg 5.1 libraries
# with everything ldd finds behind them (the C library, libstdc++ and libgcc_s excepted) as one xz tarball
# in pieces; the test clips; this script and bench/media_host.py. The project's package comes with the checkout (or MIMO_PKG=DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pool=/tmp/devmedia
cap=$((62 * 1000 * 1000))
glibc='libc|libm|libdl|libpthread|librt|libresolv|libmvec|libutil|libanl|libnsl|libgcc_s|libstdc\+\+'  # the host's own

stage() {
    local dir=${1:?stage DIR} work
    work=$(mktemp -d)
    mkdir -p "$dir"
    local py=${PYTHON:-python3}
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$work" torchcodec==0.17.0 opencv-python-headless==5.0.0.93 soxr==1.1.0 \
        platformdirs==4.14.9
    # the FFmpeg 5 libraries torchcodec's core5 needs, and what they need
    local lib=/usr/lib/x86_64-linux-gnu
    mkdir "$work/ffl"
    for l in libavutil.so.57 libavcodec.so.59 libavformat.so.59 libavfilter.so.8 libavdevice.so.59 \
             libswscale.so.6 libswresample.so.4; do
        echo "$lib/$l"; ldd "$lib/$l" | awk '/=>/ {print $3}'
    done | sort -u | grep -vE "/($glibc)\.so" |
        while read -r f; do cp -L "$f" "$work/ffl/"; done
    tar -C "$work/ffl" -cf - . | xz -6 -T0 | split -b 20000000 -d - "$work/ffl.tar.xz.part"
    rm -r "$work/ffl"
    # the clips: 61 s 1080p30 H.264 as bench/media_prepare.py makes them, fixed 8 s and 2 s GOPs
    for g in 240 60; do
        ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=61 \
            -c:v libx264 -preset veryfast -g $g -keyint_min $g -sc_threshold 0 -pix_fmt yuv420p \
            "$work/clip61_g$g.mp4"
    done
    pack "$work" "$dir"
    rm -r "$work"
}

pack() {  # first fit, largest first, into folders of at most $cap bytes, each with both scripts
    local work=$1 dir=$2 n=0
    local -a used=()
    while read -r size file; do
        local k=0
        while (( k < n )) && (( used[k] + size > cap )); do k=$((k + 1)); done
        if (( k == n )); then n=$((n + 1)); used[k]=0; mkdir -p "$dir/s$n"
            cp "$here/media_host.sh" "$here/media_host.py" "$dir/s$n/"; fi
        used[k]=$((used[k] + size)); mv "$file" "$dir/s$((k + 1))/"
    done < <(find "$work" -maxdepth 1 -type f -printf '%s %p\n' | sort -rn)
    du -sh "$dir"/s*
}

gather() {
    mkdir -p "$pool"
    cp -r "${1:?gather DIR}/." "$pool/"
}

install() {
    mkdir -p "$pool/ffl" /tmp/site
    cat "$pool"/ffl.tar.xz.part* | python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)" |
        tar -C "$pool/ffl" -xf -
    find "$pool/ffl" -regextype egrep -regex ".*/($glibc)\.so.*" -delete  # never shadow the host's C library
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$pool"/*.whl
    echo "installed: $(ls "$pool/ffl" | wc -l) libraries, $(ls /tmp/site | tr '\n' ' ')"
}

run() {
    export LD_LIBRARY_PATH=$pool/ffl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export PYTHONPATH=/tmp/site:${MIMO_PKG:-$PWD}:$PWD/bench${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
    python3 "$pool/media_host.py" "$@"
}

"$@"
