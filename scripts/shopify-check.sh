#!/usr/bin/env bash
# Checks the Shopify integration (integrations/shopify/): fills the theme app extension's
# assets/ from the release bundle, runs Shopify's Theme Check on the extension, compares the
# proxy's app proxy signature check with Shopify's own library (@shopify/shopify-api), and
# tries products on in Chromium on a stand-in storefront that renders the app block's Liquid
# and signs and forwards /apps/tryon/* to the proxy (tests/shopify/). Every server there
# binds a port the system picks, so this runs beside the demo servers.
#
#   scripts/shopify-check.sh               build the bundle, fill assets/, run every check
#   scripts/shopify-check.sh --reuse-dist  the same with the bundle already in dist/ (test.sh)
#   scripts/shopify-check.sh --assets      only build the bundle and fill assets/, as
#                                          `shopify app deploy` needs them
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

EXTENSION="$REPO_ROOT/integrations/shopify/extensions/virtual-tryon"
# The loader is the block's javascript asset; the rest is what it imports on the first tap,
# from next to itself, and the widget's own pictures (sample models, photo guidance), which
# the bundle keeps next to itself too: theme app extension assets are one flat folder.
BUNDLE=(loader.js tryon-widget.js tryon-widget_bg.wasm widget.css
    person-1.jpg person-2.jpg person-two.jpg person-tiny.png)

mode="${1:-}"
case "$mode" in
    "" | --reuse-dist | --assets) ;;
    *)
        echo "usage: scripts/shopify-check.sh [--reuse-dist | --assets]" >&2
        exit 2
        ;;
esac

if [ "$mode" != "--reuse-dist" ]; then
    step "building the widget bundle (trunk build --release)"
    trunk build --release --offline
fi

step "filling the theme app extension's assets/ from dist/"
for file in "${BUNDLE[@]}"; do
    if [ ! -f "dist/$file" ]; then
        echo "error: dist/$file is missing; run trunk build --release first" >&2
        exit 1
    fi
done
mkdir -p "$EXTENSION/assets"
find "$EXTENSION/assets" -mindepth 1 -delete
cp "${BUNDLE[@]/#/dist/}" "$EXTENSION/assets/"
ls -l "$EXTENSION/assets"
if [ "$mode" = "--assets" ]; then
    exit 0
fi

step "building the proxy"
cargo build --quiet --offline -p tryon-proxy

step "Theme Check, Shopify's signature check against the proxy's, the storefront in Chromium"
mkdir -p "$REPO_ROOT/target/logs"
node --test --test-reporter=spec tests/shopify/
