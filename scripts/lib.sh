# Shared set-up of scripts/run and scripts/test: installs what is missing, with visible
# progress, and is idempotent. Everything goes under $ECERT_CACHE (default ~/.cache/ecert):
#   tools/   cargo-leptos, wasm-bindgen, wasm-opt (npm binaryen)
#   target/  the shared cargo target directory (unless CARGO_TARGET_DIR is set)
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ECERT_CACHE=${ECERT_CACHE:-$HOME/.cache/ecert}
TOOLS=$ECERT_CACHE/tools
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ECERT_CACHE/target}
export CARGO_TERM_PROGRESS_WHEN=${CARGO_TERM_PROGRESS_WHEN:-never}

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132.0.0

STARTED_AT=$(date +%s)
step() { printf '\n\033[1;34m==> [%4ss] %s\033[0m\n' "$(( $(date +%s) - STARTED_AT ))" "$*"; }
warn() { printf '\033[1;33m%s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31merror: %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "root is needed to run: $*"; fi
}

# ensure_apt PKG...: installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# The WASM toolchain route. A rustup wasm32 target is used where one is installed; otherwise
# Debian's Rust (rustc-web, with its wasm32 standard library sources) builds std for wasm32
# itself (-Zbuild-std, allowed by RUSTC_BOOTSTRAP=1).
LIB_CARGO_ARGS=()
setup_toolchain() {
  ensure_apt build-essential pkg-config curl ca-certificates
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "Toolchain: rustup $(rustc --version) with its wasm32-unknown-unknown target"
  else
    ensure_apt rustc-web cargo-web rust-web-src lld-22
    export PATH="/usr/bin:$PATH"
    export RUSTC_BOOTSTRAP=1
    LIB_CARGO_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
    step "Toolchain: Debian $(/usr/bin/rustc --version) building std for wasm32 (-Zbuild-std)"
  fi
  export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$PATH"
}

ensure_node() {
  command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
}

ensure_cargo_leptos() {
  if "$TOOLS/bin/cargo-leptos" --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then return 0; fi
  step "Building cargo-leptos $CARGO_LEPTOS_VERSION (once; about 25 minutes on 2 cores)"
  install_tool cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
}

# cargo install into $TOOLS, built in a target dir of its own (removed afterwards), so that it
# never holds the project's target dir: the project can build while a tool does.
# Built to compile fast, not to run fast (issue 17 §4): cargo-leptos's own release profile asks
# for fat LTO in one codegen unit, which is most of its 25 minutes on 2 cores, and buys nothing
# for a tool that spends its time waiting for rustc. opt-level 1 keeps wasm-bindgen quick on a
# debug bundle of tens of megabytes.
install_tool() {
  CARGO_TARGET_DIR="$ECERT_CACHE/tools-target" \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install --root "$TOOLS" "$@"
  rm -rf "$ECERT_CACHE/tools-target"
}

# wasm-bindgen-cli must be exactly the wasm-bindgen of Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
  [ -n "$want" ] || die "cannot find wasm-bindgen in Cargo.lock"
  if "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q " $want\$"; then return 0; fi
  step "Building wasm-bindgen-cli $want (once; about 4 minutes)"
  install_tool wasm-bindgen-cli --version "$want" --force
}

ensure_wasm_opt() {
  if [ -x "$TOOLS/npm/node_modules/.bin/wasm-opt" ]; then return 0; fi
  ensure_node
  step "Installing wasm-opt (npm binaryen $BINARYEN_VERSION)"
  mkdir -p "$TOOLS/npm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "binaryen@$BINARYEN_VERSION"
}

ensure_build_tools() {
  setup_toolchain
  ensure_cargo_leptos
  ensure_wasm_bindgen
  ensure_wasm_opt
}

# site_build [--release]: the WASM bundle, CSS and assets into target/site, and the server binary.
# Always split: each lazy route (app/src/routes.rs) is a WASM file of its own, and a hydrate
# build without `--split` would import split loaders that nothing provides.
site_build() {
  step "Building the site and server ($*)"
  (
    # Release WASM: the components type-erased (Leptos's `erase_components`: each component's
    # view is one `AnyView`, not a nested type whose render and hydrate code is generated anew
    # for every page: 28% less brotli for the whole app unsplit, 2 to 7% per split surface but
    # for the wallet's, docs/performance.md). cargo-leptos
    # passes it to debug WASM builds itself, so the browser tests have always hydrated erased
    # components over the server's HTML, which is the same either way.
    # On the build-std route also no panic messages and no source paths (a panic aborts at
    # once): 7% less brotli for every surface; debug builds keep their panic messages.
    if [[ " $* " == *" --release "* ]]; then
      local wasm_flags="--cfg erase_components"
      if [ ${#LIB_CARGO_ARGS[@]} -gt 0 ]; then
        wasm_flags="$wasm_flags -Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort"
      fi
      export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$wasm_flags"
    fi
    cd "$ROOT" && cargo leptos build --split "$@" "${LIB_CARGO_ARGS[@]}"
    scan_build "$@"
  )
}

# scan_build [--release]: the wallet's own camera decoder (app/scan, issue 16 §7), a WASM module
# of its own that a wallet fetches only where the browser has no BarcodeDetector, into
# target/site/pkg/scan. Built beside cargo-leptos's WASM (its target dir, profile and flags), so
# that the standard library it builds for wasm32 serves both.
scan_build() {
  local profile=dev dir=debug
  if [[ " $* " == *" --release "* ]]; then profile=wasm-release dir=wasm-release; fi
  local target="$CARGO_TARGET_DIR"
  [ -d "$CARGO_TARGET_DIR/front" ] && target="$CARGO_TARGET_DIR/front"
  local std=()
  [ ${#LIB_CARGO_ARGS[@]} -gt 0 ] && std=(-Zbuild-std=std,panic_abort)
  CARGO_TARGET_DIR="$target" cargo build --locked -p ecert-scan --lib --target wasm32-unknown-unknown \
    --profile "$profile" "${std[@]}"
  local out="$ROOT/target/site/pkg/scan"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" \
    "$target/wasm32-unknown-unknown/$dir/ecert_scan.wasm"
  if [ "$profile" = wasm-release ]; then
    # The features rustc's wasm32 target enables by default, no others.
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      -o "$out/ecert_scan_bg.wasm" "$out/ecert_scan_bg.wasm"
  fi
}
