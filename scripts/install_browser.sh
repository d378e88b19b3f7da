#!/usr/bin/env bash
# Debian's headless-capable chromium and its chromedriver, for the viewer's browser test
# (tests/test_viewer.py::test_in_a_real_browser_leaderboard_heatmap_cell_and_its_samples).
# Idempotent: installs only what is missing, as root through apt-get; never downloads a browser
# from anywhere else. The test fails (it is never skipped) when either is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then
    echo "chromium and chromedriver are installed: $(chromium --version 2>/dev/null || echo chromium)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser.sh: ${missing[*]} missing; run this script as root (it uses apt-get)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
echo "installed ${missing[*]}: $(chromium --version 2>/dev/null || echo chromium)"
