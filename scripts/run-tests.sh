#!/usr/bin/env bash
# Set up everything the tests need on this machine, then run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-lib.sh
install_debs "${APP_DEBS[@]}" "${TEST_DEBS[@]}"
ensure_venv "dev,gpu"   # gpu = vllm 0.33.0: its MiMo processor runs on the CPU for the parity tests
export QT_QPA_PLATFORM=offscreen   # Qt widget tests; real-window tests start their own Xvfb
set +e
.venv/bin/python -m pytest "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then echo "no tests were collected: that is a failure" >&2; exit 1; fi
exit "$code"
