// The theme app extension passes Shopify's Theme Check (`@shopify/theme-check-node`, the app extension rules) with no errors, and its block's JavaScript stays within Shopify's 10 KB guidance.
//
// Theme Check needs the block's javascript asset in place: scripts/shopify-check.sh
// copies the built loader and bundle into the extension's assets/ first. Offline, Theme
// Check's docs updater cannot reach GitHub and falls back to the copy of Shopify's Liquid
// docs it ships with, which is what its filter, tag and object checks then read.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { themeCheckRun } from "@shopify/theme-check-node";
import { repoRoot } from "./app-proxy.mjs";

const integration = path.join(repoRoot, "integrations", "shopify");
const extension = path.join(integration, "extensions", "virtual-tryon");
const loader = path.join(extension, "assets", "loader.js");
/// Theme Check's severities: 0 is an error, 1 a warning, 2 a suggestion.
const SEVERITY = ["error", "warning", "suggestion"];

test("the extension passes Theme Check with no errors", async (t) => {
  assert.ok(existsSync(loader), `${loader} is missing: run scripts/shopify-check.sh --assets`);
  const { theme, offenses } = await themeCheckRun(extension, path.join(integration, "theme-check.yml"), () => {});
  const checked = theme.map((file) => path.relative(extension, new URL(file.uri).pathname));
  assert.ok(checked.includes(path.join("blocks", "tryon.liquid")), `Theme Check read ${checked}`);
  for (const offense of offenses) {
    t.diagnostic(`${SEVERITY[offense.severity]} ${offense.check}: ${offense.message} (${offense.uri}:${offense.start?.line})`);
  }
  const errors = offenses.filter((offense) => offense.severity === 0);
  assert.deepEqual(errors.map((offense) => `${offense.check}: ${offense.message}`), []);
});

test("the block's JavaScript is within Shopify's 10 KB per block", (t) => {
  // Theme Check's AssetSizeAppBlockJavaScript compares the file's own size with 10,000
  // bytes; Shopify's guidance speaks of compressed bytes. Both are held here.
  const bytes = readFileSync(loader);
  const sizes = { raw: bytes.length, gzip: gzipSync(bytes).length, brotli: brotliCompressSync(bytes).length };
  t.diagnostic(`loader.js: ${sizes.raw} B, ${sizes.gzip} B gzip, ${sizes.brotli} B brotli`);
  assert.ok(sizes.raw <= 10_000, `loader.js is ${sizes.raw} B, over Theme Check's 10,000 B`);
  assert.ok(sizes.gzip <= 10_000 && sizes.brotli <= 10_000);
});
