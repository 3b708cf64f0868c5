#!/usr/bin/env bash
# Benchmark of the widget: builds the release bundle, prints the size of every file a shop's
# page downloads (raw, gzip -9, brotli -q 11), then measures in headless Chromium, with the
# bundle served compressed, the time from a tap to a usable photo input under 4x CPU
# throttling and the preparation of a 12-megapixel JPEG. It fails (exit 1) when a budget
# is broken: the loader over 5 KB brotli, the first tap's bundle over 100 KB brotli, or the
# first tap's median over 300 ms.
# Needs no proxy: measure.mjs serves the bundle itself with a stub of the proxy's answers.
# Usage: bench/widget/run.sh [runs]   (default 5 runs per timing)
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_ROOT"

# The budgets of the page before any interaction and of the first tap.
LOADER_BUDGET_BYTES=5120
ON_TAP_BUDGET_BYTES=102400
TAP_BUDGET_MS=300

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
on_tap_br=$(brotli -q 11 -c "$dist/on-tap.bin" | wc -c)
rm -f "$dist/on-tap.bin"
loader_br=$(brotli -q 11 -c "$dist/loader.js" | wc -c)

printf '\ntimings in headless Chromium, bundle served compressed (%s runs each; median, min-max)\n' "$runs"
node "$REPO_ROOT/bench/widget/measure.mjs" "$dist" "$runs" "$dist/timings.json"
tap_ms=$(node -p "Math.round(require('$dist/timings.json').firstTapMedianMs)")

failed=0
if [ "$loader_br" -gt "$LOADER_BUDGET_BYTES" ]; then
    echo "over budget: the loader is $loader_br bytes brotli, more than $LOADER_BUDGET_BYTES" >&2
    failed=1
fi
if [ "$on_tap_br" -gt "$ON_TAP_BUDGET_BYTES" ]; then
    echo "over budget: the first tap downloads $on_tap_br bytes brotli, more than $ON_TAP_BUDGET_BYTES" >&2
    failed=1
fi
if [ "$tap_ms" -gt "$TAP_BUDGET_MS" ]; then
    echo "over budget: the first tap takes $tap_ms ms (median) to a usable photo input, more than $TAP_BUDGET_MS" >&2
    failed=1
fi
if [ "$failed" -ne 0 ]; then
    exit 1
fi
printf '\nwithin budget: loader %d of %d bytes, first tap %d of %d bytes brotli, %d of %d ms\n' \
    "$loader_br" "$LOADER_BUDGET_BYTES" "$on_tap_br" "$ON_TAP_BUDGET_BYTES" "$tap_ms" "$TAP_BUDGET_MS"
