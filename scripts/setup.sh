#!/usr/bin/env bash
# Installs what the project needs and is missing. Sourced by run.sh and test.sh; every step
# checks first, so a second run does nothing. Usage: setup_build_tools; setup_test_tools.

CARGO_LEPTOS_VERSION=0.3.6

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

APT_UPDATED=
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

setup_build_tools() {
  if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; else
      echo "cargo is missing: install Rust with rustup first (https://rustup.rs)" >&2; return 1; fi
  fi
  apt_install pkg-config gcc binaryen
  # rust-toolchain.toml names the toolchain and the wasm target; rustup adds what is missing.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  # wasm-bindgen-cli must match the wasm-bindgen version locked in Cargo.lock exactly.
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (a few minutes, once)"
    CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo install wasm-bindgen-cli --version "$want"
  fi
}

setup_test_tools() {
  apt_install chromium fonts-noto-cjk ca-certificates
  local node_major
  node_major=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')
  if [ -z "$node_major" ]; then apt_install nodejs npm; node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/'); fi
  if [ "$node_major" -lt 20 ]; then
    echo "Node.js 20 or newer is needed for Playwright (found $(node --version))" >&2; return 1
  fi
  # Playwright drives Debian's Chromium; its own browser download cannot work here.
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "installing end-to-end test packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}
