// Shopify's own library (`@shopify/shopify-api`, its app proxy HMAC validation) and the try-on proxy judge the same signed requests alike: valid, tampered, stale and repeated-key cases.
//
// The library is the reference: for each request the test asks it (`utils.validateHmac`
// with `signator: "appProxy"`) and asks the proxy binary (a 401 `Proxy.BadSignature`, or
// not), and the two verdicts must agree, and agree with what the case expects, so that
// neither can pass by refusing everything. Both read the real clock here, so the stale
// cases are minutes away from it; the exact 90 s boundary is a unit test of the proxy
// (`crates/tryon-proxy/src/shopify.rs`) on a manual clock.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import "@shopify/shopify-api/adapters/node";
import { shopifyApi, ApiVersion, LogSeverity } from "@shopify/shopify-api";
import { SECRET, forwardedQuery, sign, startProxy } from "./app-proxy.mjs";

/// The library configured as an app with `secret` (the rest is what it requires).
const library = (secret) =>
  shopifyApi({
    apiKey: "tryon-test-client-id",
    apiSecretKey: secret,
    scopes: [],
    hostName: "tryon.example",
    apiVersion: ApiVersion.January26,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error },
  });
const shopify = library(SECRET);

/// The query object a web framework hands the library: repeated names as arrays.
function queryObject(query) {
  const object = {};
  for (const [name, value] of new URLSearchParams(query)) {
    object[name] = name in object ? [].concat(object[name], value) : value;
  }
  return object;
}

async function libraryAccepts(query) {
  try {
    return await shopify.utils.validateHmac(queryObject(query), { signator: "appProxy" });
  } catch {
    // The library throws for a stale timestamp or a missing signature: a refusal.
    return false;
  }
}

let proxy;

before(async () => {
  proxy = await startProxy({ TRYON_SHOPIFY_API_SECRET: SECRET });
});

after(async () => {
  await proxy?.stop();
});

async function proxyAccepts(query) {
  const response = await fetch(`${proxy.base}/api/v1/tryon/status?${query}`);
  if (response.status === 401) {
    const body = await response.json();
    assert.equal(body.code, "Proxy.BadSignature");
    assert.ok(!JSON.stringify(body).includes(SECRET), "the secret is never echoed");
    return false;
  }
  assert.equal(response.status, 200, await response.text());
  return true;
}

const now = () => Math.trunc(Date.now() / 1000);
/// Replaces the value of `name` in an already signed query, keeping the signature.
const tamper = (query, name, value) => {
  const params = new URLSearchParams(query);
  params.set(name, value);
  return params.toString();
};

const CASES = [
  ["a guest on the storefront", () => forwardedQuery(""), true],
  ["a logged-in customer", () => forwardedQuery("", { customer: "7001" }), true],
  ["the widget's long-poll parameters", () => forwardedQuery("wait_ms=20000&since=RUNNING", { customer: "7001" }), true],
  ["a repeated key, values in order", () => forwardedQuery("extra=1&extra=2&color=dark+blue"), true],
  ["escaped values (decoded before signing)", () => forwardedQuery("q=a%2Fb%20c&note=%E8%AF%95%E8%A1%A3"), true],
  ["signed a minute ago", () => forwardedQuery("", { timestamp: now() - 60 }), true],
  ["another customer's id after signing", () => tamper(forwardedQuery("", { customer: "7001" }), "logged_in_customer_id", "7002"), false],
  ["another shop after signing", () => tamper(forwardedQuery(""), "shop", "other-shop.myshopify.com"), false],
  ["a parameter added after signing", () => `${forwardedQuery("")}&extra=1`, false],
  ["a parameter removed after signing", () => {
    const params = new URLSearchParams(forwardedQuery("wait_ms=0"));
    params.delete("wait_ms");
    return params.toString();
  }, false],
  ["a repeated key's values swapped after signing", () => {
    const signed = new URLSearchParams(forwardedQuery("extra=1&extra=2"));
    const swapped = new URLSearchParams([...signed].map(([k, v]) => [k, k === "extra" ? (v === "1" ? "2" : "1") : v]));
    return swapped.toString();
  }, false],
  ["signed with another app's secret", () => forwardedQuery("", { secret: "shpss_another0123456789abcdef01234" }), false],
  ["a signature one digit off", () => {
    const params = new URLSearchParams(forwardedQuery(""));
    const signature = params.get("signature");
    params.set("signature", (signature[0] === "0" ? "1" : "0") + signature.slice(1));
    return params.toString();
  }, false],
  ["stale: signed five minutes ago", () => forwardedQuery("", { timestamp: now() - 300 }), false],
  ["stale: signed five minutes ahead", () => forwardedQuery("", { timestamp: now() + 300 }), false],
];

for (const [name, make, valid] of CASES) {
  test(`${valid ? "accepted" : "refused"}: ${name}`, async () => {
    const query = make();
    const library = await libraryAccepts(query);
    assert.equal(library, valid, `Shopify's library on ${query}`);
    assert.equal(await proxyAccepts(query), library, `the proxy agrees with Shopify's library on ${query}`);
  });
}

test("the library and this signer agree on the example of Shopify's documentation", async () => {
  // Secret `hush`, signed at 1317327555: the library checks the timestamp against
  // Date.now, so the check runs at that moment; the proxy's unit test does the same on
  // its manual clock.
  const query =
    "extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb";
  const docs = library("hush");
  const realNow = Date.now;
  Date.now = () => 1317327555 * 1000;
  try {
    assert.equal(await docs.utils.validateHmac(queryObject(query), { signator: "appProxy" }), true);
  } finally {
    Date.now = realNow;
  }
  assert.equal(sign("hush", new URLSearchParams(query)), new URLSearchParams(query).get("signature"));
});

test("an unsigned request is not an app proxy request: the usual rules, no 401", async () => {
  const response = await fetch(`${proxy.base}/api/v1/tryon/status?wait_ms=0`);
  assert.equal(response.status, 200);
});
