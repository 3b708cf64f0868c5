#!/usr/bin/env bash
# Benchmark: builds the widget bundle in release and prints the size of each file that a
# product page downloads (raw, gzip -9, brotli -q 11), as a table.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$REPO_ROOT"

dist="$(mktemp -d)"
trap 'rm -rf "$dist"' EXIT
trunk build --release --offline --dist "$dist" >/dev/null 2>&1 \
    || { echo "trunk build failed; run it by hand to see why" >&2; exit 1; }

printf '%-34s %10s %10s %10s\n' file raw gzip brotli
total_raw=0 total_gz=0 total_br=0
while IFS= read -r file; do
    raw=$(stat -c %s "$file")
    gz=$(gzip -9 -c "$file" | wc -c)
    br=$(brotli -q 11 -c "$file" | wc -c)
    total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz)) total_br=$((total_br + br))
    printf '%-34s %10d %10d %10d\n' "${file#"$dist"/}" "$raw" "$gz" "$br"
done < <(find "$dist" -maxdepth 1 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) | sort)
printf '%-34s %10d %10d %10d\n' "total (code, styles, page)" "$total_raw" "$total_gz" "$total_br"
