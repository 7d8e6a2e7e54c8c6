# Shared set-up of scripts/run and scripts/test: installs what is missing, with visible
# progress, and is idempotent. Everything goes under $ECERT_CACHE (default ~/.cache/ecert):
#   tools/   wasm-opt (npm binaryen) and terser, for release builds
#   target/  the shared cargo target directory (unless CARGO_TARGET_DIR is set); target/front
#            holds the WASM builds and the site tool (ecert-site), so that they build beside
#            the tests without waiting for the other's lock
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ECERT_CACHE=${ECERT_CACHE:-$HOME/.cache/ecert}
TOOLS=$ECERT_CACHE/tools
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ECERT_CACHE/target}
export CARGO_TERM_PROGRESS_WHEN=${CARGO_TERM_PROGRESS_WHEN:-never}

BINARYEN_VERSION=132.0.0
TERSER_VERSION=5.51.4
FRONT_TARGET_DIR=$CARGO_TARGET_DIR/front

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
WASM_STD_ARGS=()
# The first of N consecutive TCP ports that are free on 127.0.0.1 and 127.0.0.2, taken below the
# kernel's ephemeral range (ip_local_port_range). A port from inside that range, even one free
# when checked, can be given to any outgoing connection (an app server's pool to PostgreSQL, say)
# before the server that was meant to listen on it binds: CI lost a cluster run that way.
free_ports() {
  python3 - "${1:-1}" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
def free(port):
    for host in ("127.0.0.1", "127.0.0.2"):
        s = socket.socket()
        try:
            s.bind((host, port))
        except OSError:
            return False
        finally:
            s.close()
    return True
for _ in range(2000):
    base = random.randrange(10000, low - n)
    if all(free(base + i) for i in range(n)):
        print(base)
        sys.exit(0)
sys.exit("no %d consecutive free ports below %d" % (n, low))
PY
}

setup_toolchain() {
  ensure_apt build-essential pkg-config curl ca-certificates procps
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    step "Toolchain: rustup $(rustc --version) with its wasm32-unknown-unknown target"
  else
    ensure_apt rustc-web cargo-web rust-web-src rust-web-clippy lld-22
    export PATH="/usr/bin:$PATH"
    export RUSTC_BOOTSTRAP=1
    WASM_STD_ARGS=(-Zbuild-std=std,panic_abort)
    step "Toolchain: Debian $(/usr/bin/rustc --version) building std for wasm32 (-Zbuild-std)"
  fi
  export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$PATH"
}

ensure_node() {
  command -v npm >/dev/null 2>&1 || ensure_apt nodejs npm
}

# wasm-opt (npm binaryen) and terser shrink the release site; seconds to install.
ensure_npm_tools() {
  if [ -x "$TOOLS/npm/node_modules/.bin/wasm-opt" ] && [ -x "$TOOLS/npm/node_modules/.bin/terser" ]; then
    return 0
  fi
  ensure_node
  step "Installing wasm-opt (npm binaryen $BINARYEN_VERSION) and terser $TERSER_VERSION"
  mkdir -p "$TOOLS/npm"
  npm install --no-progress --loglevel=error --no-audit --no-fund --prefix "$TOOLS/npm" "binaryen@$BINARYEN_VERSION" "terser@$TERSER_VERSION"
}

ensure_build_tools() {
  setup_toolchain
  ensure_npm_tools
}

# The server build whose pages the WASM hydrates, debug and release: `--cfg erase_components`
# (each component's view one `AnyView`, as in the WASM), and the output name Leptos reads at
# compile time (the server's pages then ask for pkg/ecert.wasm). `cargo test` builds with it too,
# so that the server binary the suite builds is the one the browser tests run (issue 17 §4). A
# server rendered without that cfg renders pages the erased WASM cannot hydrate, in debug and in
# release alike: every browser test failed on a hydration mismatch when the debug server was
# built without it, and every release page panicked in `tachys` (a marker node expected) when
# the release server was.
host_env() {
  export RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=ecert
}

# lint_env: the lint policy (the workspace Cargo.toml's [workspace.lints] and clippy's default
# warnings, as errors) checked by the build itself: cargo hands the workspace's crates, and only
# them, to clippy-driver, which lints each while it compiles it, so that no check build of the
# dependencies of its own is needed (issue 17 §4: that build took 13 to 16 minutes of a cold
# run, beside the browser tests). Dependencies' builds are unchanged. clippy-driver turns MIR
# optimisations off in what it compiles, so the optimised builds (the WASM, release) never get
# it (site_build, scan_build). LINT_STATUS says `on`, or `SKIPPED` where no clippy-driver of the
# compiler in use is found: the builds then go on unlinted, and ECERT_LINT_REQUIRED=1 makes
# that an error instead.
LINT_STATUS=
lint_env() {
  local driver
  if ! driver=$(command -v clippy-driver) || [ "$("$driver" --rustc -vV 2>/dev/null)" != "$(rustc -vV)" ]; then
    [ "${ECERT_LINT_REQUIRED:-}" != 1 ] || die "no clippy-driver for $(rustc --version), and the lint is required"
    warn "LINT SKIPPED: no clippy-driver for $(rustc --version) (Debian: rust-web-clippy; rustup: rustup component add clippy)"
    LINT_STATUS=SKIPPED
    return 0
  fi
  export RUSTC_WORKSPACE_WRAPPER=$driver CLIPPY_ARGS=-Dwarnings
  LINT_STATUS=on
}

# workspace_tests ARGS...: `cargo test` of every crate but the site tool, with the server's cfg
# (host_env); site_tool_tests ARGS...: the site tool's, in the front target dir. scripts/test's
# steps and scripts/lint build through these, so that the lint rebuilds nothing after a test run.
workspace_tests() { (cd "$ROOT" && host_env && cargo test --workspace --locked --exclude ecert-site "$@"); }
# What the test builds select: every test and benchmark target. Unlike `--all-targets` (and
# `--benches`, which takes every library and binary as a benchmark too), these honour a library's
# or binary's `test = false`: one without tests of its own builds no harness (the app's was a
# second compilation of the whole app; scripts/untested-targets checks that no test hides in
# one). Every library and binary is still built, and so linted: the libraries for what links
# them, the binaries for the integration tests that run them.
TEST_TARGETS=(--tests --bench '*')
site_tool_tests() { (cd "$ROOT" && env -u RUSTFLAGS CARGO_TARGET_DIR="$FRONT_TARGET_DIR" cargo test --locked -p ecert-site "$@"); }

# prune_timings DIR: keeps the five newest of the reports cargo's --timings left in DIR (cargo
# names the newest in its log: "Timing report saved to …").
prune_timings() {
  local dir="$1/cargo-timings"
  [ -d "$dir" ] || return 0
  find "$dir" -name 'cargo-timing-*.html' -printf '%T@ %p\n' | sort -rn | tail -n +6 | cut -d' ' -f2- |
    xargs -r rm -f
}

# site_tool: builds ecert-site (site/: split, wasm-bindgen, CSS, assets, precompression) in the
# front target dir and prints its path. A debug build whose dependencies are optimized (the
# workspace's dev profile), about 2 minutes cold.
site_tool() {
  (cd "$ROOT" && env -u RUSTFLAGS CARGO_TARGET_DIR="$FRONT_TARGET_DIR" cargo build --locked -q -p ecert-site) >&2 ||
    return 1
  echo "$FRONT_TARGET_DIR/debug/ecert-site"
}

# The features rustc's wasm32 target enables by default, no others, for wasm-opt.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)

# site_build [--release] [--precompress] [--frontend-only]: the WASM bundle, CSS and assets into
# target/site, and (unless --frontend-only) the server binary.
# - The app's WASM is cargo's build of ecert-app for wasm32 (feature hydrate), linked with
#   `--emit-relocs` so that ecert-site can cut it along the lazy routes (app/src/routes.rs):
#   each a WASM file of its own.
# - The browser tests' WASM (no --release) is built in the profile wasm-dev: the dev profile's
#   debug assertions and panic messages, optimised a little (opt-level 1) and without debug
#   info. Against the dev profile: 19 MB of WASM instead of 52, the console hydrated in 0.45 s
#   instead of 1.0 on a reload, and the SQLite journeys in 8.0 min instead of 10.1
#   (docs/performance.md).
# - Every WASM build has the components type-erased (Leptos's `erase_components`: each
#   component's view is one `AnyView`, not a nested type whose render and hydrate code is
#   generated anew for every page: 28% less brotli for the whole app unsplit, 2 to 7% per split
#   surface but for the wallet's, docs/performance.md).
# - Release: the profile wasm-release (size), `wasm-opt -Oz` on every WASM file, terser on the
#   JavaScript, and on the build-std route no panic messages and no source paths (a panic aborts
#   at once): 7% less brotli for every surface. Debug builds keep their panic messages.
# - The server is built with the WASM's cfg and output name (host_env), debug and release.
site_build() {
  local release=0 precompress=0 server=1 arg
  for arg in "$@"; do
    case $arg in
      --release) release=1 ;;
      --precompress) precompress=1 ;;
      --frontend-only) server=0 ;;
      *) die "site_build: unknown option $arg" ;;
    esac
  done
  step "Building the site ($*)"
  (
    unset RUSTFLAGS
    cd "$ROOT"
    local site profile=wasm-dev dir=wasm-dev flags="--cfg erase_components" css=()
    site=$(site_tool)
    if [ "$release" = 1 ]; then
      profile=wasm-release dir=wasm-release css=(--minify-css)
      if [ ${#WASM_STD_ARGS[@]} -gt 0 ]; then
        flags="$flags -Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort"
      fi
    fi
    # Optimised builds, never through clippy-driver (lint_env).
    unset RUSTC_WORKSPACE_WRAPPER
    # The relocations ecert-site cuts along are asked of the app's link alone (`cargo rustc`),
    # so that the standard library and the decoder share the app's flags and build.
    CARGO_TARGET_DIR="$FRONT_TARGET_DIR" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" \
      LEPTOS_OUTPUT_NAME=ecert cargo rustc --locked -p ecert-app --lib --crate-type cdylib --target wasm32-unknown-unknown \
      --no-default-features --features hydrate --profile "$profile" "${WASM_STD_ARGS[@]}" --timings \
      -- -Clink-args=--emit-relocs
    prune_timings "$FRONT_TARGET_DIR"
    "$site" build --wasm "$FRONT_TARGET_DIR/wasm32-unknown-unknown/$dir/ecert_app.wasm" \
      --site-root "$ROOT/target/site" --style "$ROOT/style/main.css" --assets "$ROOT/public" "${css[@]}"
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" scan_build "$site" "$profile" "$dir"
    if [ "$release" = 1 ]; then
      ls "$ROOT"/target/site/pkg/*.wasm "$ROOT"/target/site/pkg/scan/*.wasm |
        xargs -P "$(nproc)" -I{} wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" -o {} {}
      terser --module --compress --mangle -o "$ROOT/target/site/pkg/ecert.js" "$ROOT/target/site/pkg/ecert.js"
    fi
    if [ "$precompress" = 1 ]; then "$site" precompress "$ROOT/target/site"; fi
  )
  if [ "$server" = 1 ]; then
    local server_args=(--locked -p ecert-server)
    # The release server is optimised: never through clippy-driver (lint_env).
    if [ "$release" = 1 ]; then server_args+=(--release); unset RUSTC_WORKSPACE_WRAPPER; fi
    (cd "$ROOT" && host_env && cargo build "${server_args[@]}")
  fi
}

# scan_build SITE PROFILE DIR: the wallet's own camera decoder (app/scan, issue 16 §7), a WASM
# module of its own that a wallet fetches only where the browser has no BarcodeDetector, into
# target/site/pkg/scan; built beside the app's WASM (its target dir, profile and flags), so that
# the standard library it builds for wasm32 serves both.
scan_build() {
  local out="$ROOT/target/site/pkg/scan"
  env -u RUSTC_WORKSPACE_WRAPPER CARGO_TARGET_DIR="$FRONT_TARGET_DIR" cargo rustc --locked -p ecert-scan --lib --crate-type cdylib --target wasm32-unknown-unknown \
    --profile "$2" "${WASM_STD_ARGS[@]}"
  rm -rf "$out"
  "$1" bindgen --wasm "$FRONT_TARGET_DIR/wasm32-unknown-unknown/$3/ecert_scan.wasm" --out-dir "$out"
}
