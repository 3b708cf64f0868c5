#!/usr/bin/env bash
# Installs every tool the build, the demo and the tests need, skipping what is already there.
# CI and new machines start bare, so nothing may be assumed installed; a fresh machine takes
# about 13 minutes here (almost all of it compiling trunk and wasm-bindgen-cli), a warm one
# a few seconds. Everything comes from the crate registry, Debian, npm (among them Shopify's
# own libraries for the Shopify checks) or PyPI (FASHN's SDK, moto's S3 server):
# nothing downloads from anywhere else, because nothing else is reachable.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

TRUNK_VERSION="0.21.14"
# python3-venv: the venvs of FASHN's Python SDK, which checks the emulator's FASHN API, and
# of moto, the S3-compatible server of the proxy's storage tests.
# fonts-wqy-microhei: Chinese glyphs, so that the zh-CN screenshots show words, not boxes.
# postgresql: the server the proxy's tests and benchmarks run a throwaway cluster of
# (scripts/postgres.sh); its system service is never used.
DEBIAN_PACKAGES=(chromium chromium-driver brotli python3-venv fonts-wqy-microhei postgresql)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

step "rust target wasm32-unknown-unknown"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "present"
else
    rustup target add wasm32-unknown-unknown
fi

step "debian packages: ${DEBIAN_PACKAGES[*]}"
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "present"
else
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

step "trunk $TRUNK_VERSION"
if [ "$(trunk --version 2>/dev/null)" = "trunk $TRUNK_VERSION" ]; then
    echo "present"
else
    # 0.22 needs a newer rustc than this machine has; --locked keeps its dependencies as tested.
    # Without its default features trunk has no update check (its server is unreachable
    # here anyway) and no TLS (it never downloads a tool: --offline, and the dev server
    # forwards /api/ to the proxy over plain http), and it compiles in about half the time.
    cargo install trunk --locked --no-default-features --version "$TRUNK_VERSION"
fi

step "cargo fetch (so that builds can run --offline)"
cargo fetch --quiet

WASM_BINDGEN_VERSION="$(wasm_bindgen_lock_version)"
step "wasm-bindgen-cli $WASM_BINDGEN_VERSION (the Cargo.lock version)"
if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ] \
    && command -v wasm-bindgen-test-runner >/dev/null; then
    echo "present"
else
    # With --locked one of its locked dependencies is missing from the registry mirror,
    # so the locked install is tried first and the resolved one is the fallback.
    cargo install wasm-bindgen-cli --locked --version "$WASM_BINDGEN_VERSION" \
        || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

step "npm tools: binaryen (wasm-opt), esbuild, playwright-core and the Shopify checks' tools"
# Every package at the exact version package.json pins, so that adding one installs it.
npm_tools_present() {
    node -e '
        const wanted = require("./package.json").devDependencies;
        for (const [name, version] of Object.entries(wanted)) {
            let found;
            try { found = require(`./node_modules/${name}/package.json`).version; } catch {}
            if (found !== version) process.exit(1);
        }'
}
if [ "$(wasm-opt --version 2>/dev/null)" = "wasm-opt version 132 (version_132)" ] && npm_tools_present; then
    echo "present"
else
    npm install --no-audit --no-fund
fi

# FASHN's official SDK comes from PyPI into a venv under target/ (idempotent; the check
# script owns the pinned version so that the two cannot disagree).
bash scripts/fashn-sdk-check.sh --install
# So does moto, the S3-compatible server the proxy's tests store their files in.
bash scripts/backends-test.sh --install

step "tool versions"
trunk --version
wasm-bindgen --version
wasm-opt --version
chromium --version
chromedriver --version | head -n1
node -e 'for (const name of ["esbuild", "playwright-core", "@shopify/shopify-api", "@shopify/theme-check-node", "liquidjs"]) console.log(name + " " + require(`./node_modules/${name}/package.json`).version)'
