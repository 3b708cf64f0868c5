# shellcheck shell=bash
# Environment shared by the project's scripts: tool paths and the settings that keep trunk offline.
# Sourced, not run. The npm tools come first on PATH so that binaryen 132's wasm-opt wins over
# any other wasm-opt (Debian's 108 builds bundles that crash at start).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export PATH="$REPO_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Trunk's update check needs a server this network cannot reach.
export TRUNK_SKIP_VERSION_CHECK=true
# wasm-bindgen-test-runner drives Debian's chromedriver; as root it adds --no-sandbox itself.
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# The wasm-bindgen version the lock file resolved; the CLI must match it exactly.
wasm_bindgen_lock_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO_ROOT/Cargo.lock"
}

# Prints a banner so that a long log shows where each step starts.
step() {
    printf '\n==> %s\n' "$*"
}
