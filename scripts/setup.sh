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
  apt_install pkg-config gcc
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
  setup_wasm_opt
}

# The release build that scripts/run.sh serves and scripts/test.sh tests. `--precompress`
# stores each of the site's files also as `.br` (brotli, quality 11) and `.gz`, which the
# server sends as they are: compressing on the fly, at a speed-minded level, made a phone
# download about a third more.
build_release() {
  # Hashed names (`yikatong.<hash>.wasm`, listed in `hash.txt` beside the server binary), which
  # browsers keep for good (server::site_files). Release builds only: `cargo leptos watch` does
  # not rename the files it rebuilds.
  LEPTOS_HASH_FILES=true cargo leptos build --release --precompress "$@"
}

# Node.js for wasm-opt and Playwright: Debian's where none is installed.
setup_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  apt_install nodejs npm
}

# wasm-opt for the release bundle: Binaryen 132, pinned in scripts/wasm-opt/package-lock.json
# and put first on PATH, where cargo-leptos looks for it. Not Debian's binaryen 108: its
# wasm-opt writes a module whose `__wbindgen_externrefs` export names the function table, so
# the bundle throws `WebAssembly.Table.set(): Argument 1 is invalid…` before hydrating, whatever
# the feature flags (scripts/check-wasm.py checks a built bundle for it).
setup_wasm_opt() {
  setup_node || return 1
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/wasm-opt"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing wasm-opt (Binaryen from npm)"
    (cd "$dir" && npm ci --no-audit --no-fund) || return 1
  fi
  case ":$PATH:" in *":$dir/node_modules/.bin:"*) ;; *) export PATH="$dir/node_modules/.bin:$PATH" ;; esac
}

setup_test_tools() {
  apt_install chromium fonts-noto-cjk ca-certificates
  setup_node || return 1
  local node_major
  node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
  if [ "$node_major" -lt 20 ]; then
    echo "Node.js 20 or newer is needed for Playwright (found $(node --version))" >&2; return 1
  fi
  # Playwright drives Debian's Chromium; its own browser download cannot work here.
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "installing end-to-end test packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}
