// End-to-end on a stand-in Shopify storefront: the app block's Liquid renders the widget for each kind of product, and shoppers try products on through a signed, path-prefixed app proxy in front of the try-on proxy, in Debian's Chromium driven by Playwright.
//
// tests/shopify/storefront.mjs is the storefront (what it copies from Shopify is listed
// there); the try-on proxy is the binary cargo built, started on a free port with the
// app's secret (TRYON_SHOPIFY_API_SECRET), the storefront's origin allowed and its
// embedded emulator; every port here is picked by the system, so this runs beside the
// demo servers of the other end-to-end tests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { chromium } from "playwright-core";
import { SECRET, repoRoot, startProxy } from "./app-proxy.mjs";
import { CDN_HOST, renderBlock, startStorefront } from "./storefront.mjs";

const sample = (name) => path.join(repoRoot, "www", "samples", name);
const filesUrl = /\/api\/v1\/tryon\/files\//;
/// Whether the loader forwards the try-on events to Shopify's Web Pixels. The loader is
/// being reworked elsewhere; once it publishes (`Shopify.analytics.publish`), the Web
/// Pixels assertions below run, and until then they are reported as skipped.

let storefront;
let proxy;
let browser;

before(async () => {
  storefront = await startStorefront();
  proxy = await startProxy({
    TRYON_SHOPIFY_API_SECRET: SECRET,
    TRYON_ALLOWED_ORIGINS: storefront.origin,
    TRYON_UPSTREAM: process.env.E2E_UPSTREAM ?? "aitryon",
  });
  storefront.proxyBase = proxy.base;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // As in tests/e2e/: off the closed network; and the CDN's host name is this machine.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=MAP ${CDN_HOST} 127.0.0.1`,
    ],
  });
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await storefront?.close();
});

/// The attributes of the one <virtual-tryon> in `html`.
function widgetAttributes(html) {
  const element = html.match(/<virtual-tryon\b([^>]*)>/);
  assert.ok(element, html);
  return Object.fromEntries([...element[1].matchAll(/([a-z-]+)="([^"]*)"/g)].map(([, name, value]) => [name, value]));
}

test("the block renders the product's image as the garment its kind names, the locale and the theming", async () => {
  const shopHost = "tryon-demo.myshopify.com";
  const top = widgetAttributes(await renderBlock("classic-tee", { shopHost, locale: "zh-CN" }));
  assert.equal(top.proxy, "/apps/tryon");
  assert.equal(top["garment-top"], `//${shopHost}/cdn/shop/files/top-tee.png?v=1&width=1024&format=jpg`);
  assert.equal(top["garment-bottom"], undefined);
  assert.equal(top["garment-kind"], "top");
  assert.equal(top.locale, "zh-CN");
  assert.equal(top["product-id"], "8001");
  assert.equal(top["product-name"], "Classic Tee");
  // The sample models ship with the extension's flat assets, so the block offers them.
  assert.equal(top.samples, undefined);
  assert.equal(top.style, "--tryon-accent: #1f2937; --tryon-accent-text: #ffffff; --tryon-radius: 30px; --tryon-focus: #2563eb;");

  const bottom = widgetAttributes(await renderBlock("wide-trousers", { shopHost }));
  assert.match(bottom["garment-bottom"], /bottom-trousers\.png/);
  assert.equal(bottom["garment-top"], undefined);
  const outfit = widgetAttributes(await renderBlock("summer-set", { shopHost }));
  assert.match(outfit["garment-top"], /top-shirt\.png/);
  assert.match(outfit["garment-bottom"], /bottom-skirt\.png/);
  assert.equal(outfit["garment-kind"], "outfit");
  const lonely = widgetAttributes(await renderBlock("lonely-set", { shopHost }));
  assert.equal(lonely["garment-kind"], "top", "an outfit with one image is tried on as a top");
  const dress = widgetAttributes(await renderBlock("classic-tee", { shopHost, overrides: { garment_kind: "dress" } }));
  assert.equal(dress["garment-kind"], "dress");
  assert.match(dress["garment-top"], /top-tee\.png/);

  const themed = widgetAttributes(
    await renderBlock("classic-tee", {
      shopHost,
      overrides: { accent: "#aa0000", accent_text: "#000000", radius: 4, focus: "#00aa00", font: 'Georgia, "Times New Roman", serif', proxy_path: "/a/try-on" },
    }),
  );
  assert.equal(themed.proxy, "/a/try-on", "a merchant's own prefix and subpath");
  assert.equal(
    themed.style,
    "--tryon-accent: #aa0000; --tryon-accent-text: #000000; --tryon-radius: 4px; --tryon-focus: #00aa00; --tryon-font: Georgia, &#34;Times New Roman&#34;, serif;",
  );
});

/// A product page in a fresh browser context (its own cookies: a device), with the
/// storefront's customer logged in when `customer` is given.
async function openProduct(handle, { customer, query = "" } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (customer) {
    await context.addCookies([{ name: "storefront_customer", value: customer, url: storefront.origin }]);
  }
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(`${storefront.origin}/products/${handle}${query}`);
  return { context, page, errors, requests };
}

async function tryOn(page, photo = sample("person-1.jpg")) {
  await page.getByRole("button", { name: "Try it on" }).click();
  await page.getByLabel("Your photo").setInputFiles(photo);
  await page.getByRole("button", { name: "Generate" }).click();
}

async function waitForResult(page) {
  const result = page.locator('img[alt="Your try-on result"]');
  await result.waitFor({ state: "visible", timeout: 90_000 });
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await result.elementHandle(), { timeout: 30_000 });
  return result.getAttribute("src");
}

const heard = (page) => page.evaluate(() => window.shopEvents.map((e) => ({ type: e.type, detail: e.detail })));
/// A call of the widget's proxy API from the page, as the shopper's browser makes it.
const call = (page, method, apiPath) =>
  page.evaluate(async ([method, url]) => {
    const response = await fetch(url, { method });
    return { status: response.status, body: await response.json() };
  }, [method, `/apps/tryon${apiPath}`]);

test("a guest tries the product on through the shop's app proxy, and the shop's Web Pixels hear it", async (t) => {
  const before = storefront.forwarded.length;
  const { context, page, errors, requests } = await openProduct("classic-tee", { query: "?accent=%23aa0000" });
  assert.ok(!requests.some((url) => url.endsWith(".wasm")), "no WebAssembly before the tap");
  // The block's colour reaches the button through --tryon-accent.
  const background = await page.locator("virtual-tryon").evaluate((host) => getComputedStyle(host.shadowRoot.querySelector("button")).backgroundColor);
  assert.equal(background, "rgb(170, 0, 0)");

  await tryOn(page);
  // The sample models and the photo guidance come from the extension's flat assets too.
  const pictures = page.locator(".vto-sample img");
  assert.equal(await pictures.count(), 2);
  for (const picture of await pictures.all()) {
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await picture.elementHandle());
    assert.ok((await picture.getAttribute("src")).startsWith(`http://${CDN_HOST}:`));
  }
  const src = await waitForResult(page);
  assert.match(src, filesUrl, "the result is kept and served by the try-on proxy");

  // Every call of the widget went to the shop's own domain, under the app proxy's path;
  // the bundle came from the CDN's origin.
  const apiCalls = requests.filter((url) => url.includes("/api/v1/") && !filesUrl.test(url));
  assert.ok(apiCalls.length >= 4, apiCalls.join("\n"));
  for (const url of apiCalls) assert.ok(url.startsWith(`${storefront.origin}/apps/tryon/api/v1/`), url);
  assert.ok(requests.some((url) => url.startsWith(`http://${CDN_HOST}:`) && url.endsWith("tryon-widget_bg.wasm")));
  // Shopify's stand-in forwarded them signed, and the proxy accepted every one.
  const forwarded = storefront.forwarded.slice(before);
  assert.ok(forwarded.some((r) => r.method === "POST" && r.path.endsWith("/image2image/image-synthesis")));
  assert.deepEqual(forwarded.filter((r) => r.status === 401), [], "no signature refused");

  const types = (await heard(page)).map((e) => e.type);
  for (const type of ["tryon:open", "tryon:photo", "tryon:submit", "tryon:result"]) assert.ok(types.includes(type), `${type} in ${types}`);

  // Web Pixels: the shop's pixels receive the same events as custom events, never the photo.
  {
    const published = await page.evaluate(() => window.__pixelEvents);
    t.diagnostic(`Web Pixels received ${published.length} custom events`);
    const names = published.map((e) => e.name);
    for (const type of ["tryon:open", "tryon:photo", "tryon:submit", "tryon:result"]) assert.ok(names.includes(type), `${type} published: ${names}`);
    assert.ok(published.every((e) => e.name.startsWith("tryon:") && e.data.productId === "8001"), JSON.stringify(published));
    const text = JSON.stringify(published);
    assert.ok(!filesUrl.test(text) && !/blob:|data:/.test(text), `no photo or its URL in what pixels receive: ${text}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test("a logged-in customer's try-on is theirs on another device, and deleting it there deletes it", async () => {
  const phone = await openProduct("summer-set", { customer: "9001" });
  await tryOn(phone.page, sample("person-2.jpg"));
  await waitForResult(phone.page);
  const taskId = (await heard(phone.page)).find((e) => e.type === "tryon:result").detail.taskId;
  assert.ok(taskId);
  assert.ok(storefront.forwarded.some((r) => r.customer === "9001"));

  // The same customer on a laptop: no cookie or token of the phone's, still their job.
  const laptop = await openProduct("classic-tee", { customer: "9001" });
  const mine = await call(laptop.page, "GET", `/api/v1/tasks/${taskId}`);
  assert.equal(mine.status, 200);
  assert.equal(mine.body.output.task_status, "SUCCEEDED");
  const guest = await openProduct("classic-tee");
  assert.equal((await call(guest.page, "GET", `/api/v1/tasks/${taskId}`)).status, 404, "a guest");
  const other = await openProduct("classic-tee", { customer: "9002" });
  assert.equal((await call(other.page, "GET", `/api/v1/tasks/${taskId}`)).status, 404, "another customer");

  const deletion = await call(laptop.page, "DELETE", "/api/v1/tryon/shopper");
  assert.equal(deletion.status, 200);
  assert.ok(deletion.body.deleted_jobs >= 1 && deletion.body.deleted_files >= 2, JSON.stringify(deletion.body));
  assert.equal((await call(phone.page, "GET", `/api/v1/tasks/${taskId}`)).status, 404, "gone from the phone too");
  for (const device of [phone, laptop, guest, other]) await device.context.close();
});

test("a request signed with another app's secret is refused, and the shopper is told why it cannot work", async () => {
  const { context, page } = await openProduct("classic-tee", { query: "?proxy_path=/apps/tryon-forged" });
  await tryOn(page);
  const alert = page.getByRole("alert");
  await alert.waitFor({ timeout: 30_000 });
  assert.match(await alert.textContent(), /^Try-on is not set up correctly in this shop\./);
  const error = (await heard(page)).find((e) => e.type === "tryon:error");
  assert.equal(error.detail.code, "Proxy.BadSignature");
  const refused = storefront.forwarded.filter((r) => r.path.startsWith("/apps/tryon-forged/"));
  assert.ok(refused.length > 0 && refused.every((r) => r.status === 401), JSON.stringify(refused));
  assert.match(proxy.log(), /refused a Shopify app proxy request/);
  assert.ok(!proxy.log().includes(SECRET), "the secret never reaches the log");
  await context.close();
});

test("the storefront's language reaches the button", async () => {
  const { context, page } = await openProduct("classic-tee", { query: "?locale=zh-CN" });
  await page.getByRole("button", { name: "试穿一下" }).waitFor();
  await context.close();
});
