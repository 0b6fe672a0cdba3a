#!/usr/bin/env bash
# Command 1: installs what is missing, builds (release), migrates, loads the demo campus into an
# empty database, and serves the portal on http://127.0.0.1:3000. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
setup_build_tools
log "building the portal (release)"
build_release
log "starting the portal on http://${YIKATONG_ADDR:-127.0.0.1:3000} (Ctrl-C stops it)"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
exec "${CARGO_TARGET_DIR:-target}/release/server"
