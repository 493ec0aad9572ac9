#!/usr/bin/env bash
# dist/MiMo-Desktop-<version>-arm64.dmg from build/bundle/MiMo Desktop.app (packaging/macos/mimo-desktop.spec).
# NOT run by this project's machines (Linux only): needs macOS's hdiutil (and codesign/xcrun to sign).
#   MIMO_SIGN_IDENTITY="Developer ID Application: ..."  sign the .app and the .dmg (optional)
#   MIMO_NOTARY_PROFILE=profile-name                    notarize and staple (optional; `xcrun notarytool
#                                                       store-credentials` makes the profile)
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' mimo_desktop/__init__.py)
app="build/bundle/MiMo Desktop.app"
dmg="dist/MiMo-Desktop-${version}-arm64.dmg"
[ -d "$app" ] || { echo "make_dmg: build $app first (packaging/macos/mimo-desktop.spec)" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "make_dmg: hdiutil is macOS-only" >&2; exit 1; }

if [ -n "${MIMO_SIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp \
        --entitlements packaging/macos/entitlements.plist --sign "$MIMO_SIGN_IDENTITY" "$app"
fi
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"  # drag-to-install
mkdir -p dist
rm -f "$dmg"
hdiutil create -volname "MiMo Desktop" -srcfolder "$staging" -fs HFS+ -format UDZO -imagekey zlib-level=9 "$dmg"
if [ -n "${MIMO_SIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$MIMO_SIGN_IDENTITY" "$dmg"
fi
if [ -n "${MIMO_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$MIMO_NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi
echo "==> $dmg"
