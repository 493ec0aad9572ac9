#!/usr/bin/env bash
# Install a built .deb on a fresh, minimal Debian 12 (debootstrap) and use it there as a normal user:
# proves that Depends is complete (nothing comes from the build machine). A release check, not part of CI
# (needs root, debootstrap and the Debian mirror; ~3 min).
#
#   sudo bash packaging/linux/check_clean_install.sh dist/mimo-desktop_<version>_amd64.deb
set -euo pipefail
deb=$(readlink -f "${1:?usage: check_clean_install.sh PACKAGE.deb}")
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { echo "check_clean_install: apt install debootstrap" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "check_clean_install: needs the ffmpeg CLI here to make a test clip" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "check_clean_install: run as root (chroot)" >&2; exit 1; }

system=$(mktemp -d /tmp/mimo-clean-debian.XXXXXX)
chmod 0755 "$system"  # it becomes "/" for the test user
cleanup() { umount "$system/proc" 2>/dev/null || true; rm -rf "$system"; }
trap cleanup EXIT
in_system() { chroot "$system" /bin/sh -c "$1"; }
as_user() { chroot "$system" /bin/su tester -c "cd ~ && LANG=C.UTF-8 $1"; }

echo "==> minimal Debian 12 in $system"
debootstrap --variant=minbase bookworm "$system" "$mirror" >/dev/null
mount --bind /proc "$system/proc"
cp /etc/resolv.conf "$system/etc/resolv.conf"
cp "$deb" "$system/tmp/package.deb"
ffmpeg -loglevel error -f lavfi -i testsrc=size=160x120:rate=10 -f lavfi -i sine=frequency=440:sample_rate=16000 \
    -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac "$system/tmp/clip.mp4"
chmod 0644 "$system/tmp/clip.mp4"

echo "==> apt install ./$(basename "$deb") (pulls its Depends from the mirror)"
in_system "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    /tmp/package.deb xvfb xauth" > "$system.apt.log" 2>&1 || { tail -n 20 "$system.apt.log" >&2; exit 1; }
rm -f "$system.apt.log"
in_system "useradd -m tester"

echo "==> as a normal user"
as_user "mimo-desktop --version"
as_user "QT_QPA_PLATFORM=offscreen mimo-desktop --self-test 2>/dev/null" | tail -n 1
as_user "QT_QPA_PLATFORM=xcb xvfb-run -a mimo-desktop --self-test 2>/dev/null" | tail -n 1
as_user "mimo-desktop inspect /tmp/clip.mp4 --json" | grep -q '"error": null' \
    || { echo "check_clean_install: the packaged app could not decode a clip" >&2; exit 1; }
echo "inspect: clip decoded"

echo "==> apt remove"
in_system "DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq mimo-desktop >/dev/null 2>&1"
in_system "test ! -e /usr/bin/mimo-desktop && test ! -e /opt/mimo-desktop"
echo "==> clean install, use and removal on Debian 12: all passed"
