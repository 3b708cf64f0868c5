#!/usr/bin/env bash
# Benchmark of the widget: builds the release bundle, prints the size of every file a shop's
# page downloads (raw, gzip -9, brotli -q 11), then measures in headless Chromium the
# tap-to-interactive time under 4x CPU throttling and the preparation of a 12-megapixel JPEG.
# Needs no proxy: measure.mjs serves the bundle itself with a stub of the proxy's answers.
# Usage: bench/widget/run.sh [runs]   (default 5 runs per timing)
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_ROOT"

runs="${1:-5}"
dist="$(mktemp -d)"
trap 'rm -rf "$dist"' EXIT
echo "building the release bundle into $dist ..." >&2
trunk build --release --offline --dist "$dist" >"$dist.log" 2>&1 \
    || { echo "trunk build failed; its log: $dist.log" >&2; exit 1; }
rm -f "$dist.log"

size_row() {
    local label="$1" file="$2"
    printf '%-28s %-24s %9d %9d %9d\n' "$label" "$(basename "$file")" \
        "$(stat -c %s "$file")" "$(gzip -9 -c "$file" | wc -c)" "$(brotli -q 11 -c "$file" | wc -c)"
}

printf '\nbundle sizes (bytes)\n'
printf '%-28s %-24s %9s %9s %9s\n' part file raw gzip brotli
size_row "loader (before any tap)" "$dist/loader.js"
size_row "wasm (on first tap)" "$dist/tryon-widget_bg.wasm"
size_row "JS glue (on first tap)" "$dist/tryon-widget.js"
size_row "dialog CSS (on first tap)" "$dist/widget.css"
cat "$dist/tryon-widget_bg.wasm" "$dist/tryon-widget.js" "$dist/widget.css" >"$dist/on-tap.bin"
size_row "total on first tap" "$dist/on-tap.bin"
rm -f "$dist/on-tap.bin"
loader_br=$(brotli -q 11 -c "$dist/loader.js" | wc -c)
if [ "$loader_br" -gt 5120 ]; then
    echo "loader over its 5 KB brotli budget: $loader_br bytes" >&2
    exit 1
fi

printf '\ntimings in headless Chromium (%s runs each; median, min-max)\n' "$runs"
node "$REPO_ROOT/bench/widget/measure.mjs" "$dist" "$runs"
