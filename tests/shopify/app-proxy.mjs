// What the Shopify tests share: a stand-in for Shopify's app proxy signer, and the try-on proxy binary started on a free port with a Shopify API secret.
//
// Shopify signs every request its app proxy forwards: it adds `shop`,
// `logged_in_customer_id`, `path_prefix` and `timestamp` to the storefront's query and
// `signature`, the hex HMAC-SHA256 (keyed with the app's API secret) of every parameter
// but the signature, sorted by name, written `key=value` with no separator, a repeated
// key's values joined by ",". `app-proxy-hmac.test.mjs` checks this signer against
// Shopify's own library, so that the storefront stand-in signs as Shopify does.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/// The app's API secret the tests' stand-in for Shopify signs with.
export const SECRET = "shpss_e2e0123456789abcdef0123456789ab";
export const SHOP = "tryon-demo.myshopify.com";

/// The message Shopify signs for `params` (a URLSearchParams or [name, value] pairs).
export function signedMessage(params) {
  const byName = new Map();
  for (const [name, value] of params) {
    if (name === "signature") continue;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(value);
  }
  // Names in code-unit order, which for the ASCII names Shopify uses is byte order.
  return [...byName.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => `${name}=${byName.get(name).join(",")}`)
    .join("");
}

export function sign(secret, params) {
  return createHmac("sha256", secret).update(signedMessage(params)).digest("hex");
}

/// The query Shopify forwards for a storefront request with `query` (a string without
/// "?"), the customer logged in there (or none), signed at `timestamp` with `secret`.
export function forwardedQuery(query, { customer = "", timestamp = Math.trunc(Date.now() / 1000), secret = SECRET, pathPrefix = "/apps/tryon" } = {}) {
  const params = new URLSearchParams(query);
  params.append("shop", SHOP);
  params.append("logged_in_customer_id", customer);
  params.append("path_prefix", pathPrefix);
  params.append("timestamp", String(timestamp));
  params.append("signature", sign(secret, params));
  return params.toString();
}

/// The try-on proxy binary that cargo built (CARGO_TARGET_DIR is honoured).
export function proxyBinary() {
  if (process.env.TRYON_PROXY_BIN) return process.env.TRYON_PROXY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target");
  return path.join(target, "debug", "tryon-proxy");
}

/// Starts the proxy on a free port with its embedded emulator, its own empty data folder
/// (under target/, see scripts/test.sh) and `env` on top; resolves once it answers
/// /healthz, with its base URL, its log so far and a stop function.
export async function startProxy(env = {}) {
  mkdirSync(path.join(repoRoot, "target"), { recursive: true });
  const data = mkdtempSync(path.join(repoRoot, "target", "shopify-data."));
  const child = spawn(proxyBinary(), [], {
    env: {
      ...process.env,
      TRYON_LISTEN: "127.0.0.1:0",
      TRYON_DATA_DIR: data,
      // The emulator's tasks run twenty times faster, as in the other end-to-end tests.
      SIM_TIME_SCALE: process.env.SIM_TIME_SCALE ?? "0.05",
      // These runs store a few hundred kilobytes; the free-space floor has its own tests.
      TRYON_MIN_FREE_BYTES: "16777216",
      RUST_LOG: process.env.RUST_LOG ?? "info",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const listening = new Promise((resolve, reject) => {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const found = log.match(/try-on proxy listening on (http:\/\/[0-9.:]+)/);
      if (found) resolve(found[1]);
    });
    child.on("exit", (code) => reject(new Error(`the proxy exited (${code}) before it listened:\n${log}`)));
  });
  const base = await listening;
  // A readiness probe bounded by a deadline, not a sleep standing in for one.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the proxy did not answer /healthz:\n${log}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    base,
    log: () => log,
    async stop() {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
      rmSync(data, { recursive: true, force: true });
    },
  };
}
