// End-to-end: a shopper tries a product on and adds it to the cart, then the shop owner signs in to the proxy's dashboard in Chromium and sees the try-on, the spend and the add-to-cart step.
//
// scripts/test.sh starts the proxy with TRYON_ADMIN_TOKEN set to E2E_ADMIN_TOKEN (a fixed
// test token) and runs this file once per upstream, like tryon.test.mjs, whose tests may
// run on the same proxy: the figures are compared before and after this test's own
// try-on, never against fixed totals. Screenshots at 375 and 1280 px go to
// target/e2e/<upstream>/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const baseUrl = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080/";
const proxyUrl = process.env.E2E_PROXY_URL ?? "http://127.0.0.1:8787";
const upstream = process.env.E2E_UPSTREAM ?? "aitryon";
const adminToken = process.env.E2E_ADMIN_TOKEN ?? "e2e-admin-token-not-a-secret";
const shotDir = path.join(repoRoot, "target", "e2e", upstream);
const sample = (name) => path.join(repoRoot, "www", "samples", name);

let browser;

before(async () => {
  mkdirSync(shotDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

/// The dashboard's figures as JSON, read with the bearer header as a script would.
async function summary() {
  const response = await fetch(`${proxyUrl}/admin/api/summary?days=1`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  assert.equal(response.status, 200, "the owner's token opens the figures");
  return response.json();
}

const shoppersAt = (funnel, product, step) =>
  funnel.products.find((p) => p.product === product)?.steps.find((s) => s.step === step)?.shoppers ?? 0;

/// The beacons the page sent to the proxy's events endpoint, as parsed bodies.
function recordBeacons(page) {
  const beacons = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/v1/tryon/events") beacons.push(request.postData() ?? "");
  });
  return beacons;
}

test("the owner's dashboard counts a try-on with add to cart, its spend and the funnel; without the token it is refused", async () => {
  // Without the token nothing is shown: the page asks to sign in, the data answers 401,
  // and a token in the address is refused outright.
  const refused = await fetch(`${proxyUrl}/admin/api/summary`);
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "Proxy.AdminUnauthorized");
  const inQuery = await fetch(`${proxyUrl}/admin/?token=${encodeURIComponent(adminToken)}`);
  assert.equal(inQuery.status, 400);
  assert.equal((await inQuery.json()).code, "Proxy.AdminTokenInQuery");
  const stranger = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const answer = await stranger.goto(`${proxyUrl}/admin/`);
  assert.equal(answer.status(), 401);
  assert.equal(answer.headers()["cache-control"], "no-store");
  assert.match(answer.headers()["content-security-policy"], /default-src 'none'/);
  await stranger.getByLabel("Admin token").waitFor();
  assert.equal(await stranger.getByText("Try-ons today").count(), 0, "no figures before signing in");
  await stranger.close();

  const before = await summary();

  // A shopper on the tee's page: nothing is sent before the tap, then the whole funnel.
  const shop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const beacons = recordBeacons(shop);
  const statusAnswered = shop.waitForResponse((r) => r.url().endsWith("/api/v1/tryon/status"));
  await shop.goto(baseUrl);
  await statusAnswered;
  // Two frames: the button has been drawn and seen, so a "shown" would have gone by now.
  await shop.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  assert.deepEqual(beacons, [], "no event before the shopper interacts");
  await shop.getByRole("button", { name: "Try it on" }).click();
  await shop.getByLabel("Your photo").setInputFiles(sample("person-1.jpg"));
  await shop.getByRole("button", { name: "Generate" }).click();
  await shop.locator('img[alt="Your try-on result"]').waitFor({ state: "visible", timeout: 90_000 });
  const cartBeacon = shop.waitForResponse(
    (r) => r.url().endsWith("/api/v1/tryon/events") && (r.request().postData() ?? "").includes('"add-to-cart"'),
  );
  await shop.getByRole("button", { name: "Add to cart" }).click();
  assert.equal((await cartBeacon).status(), 204, "the proxy took the add-to-cart event");
  const sent = beacons.map((body) => JSON.parse(body));
  const names = sent.flatMap((batch) => batch.events.map((e) => e.name));
  assert.deepEqual(names.slice(0, 2), ["shown", "open"], "the queued shown goes with the first open");
  for (const name of ["photo", "submit", "result", "add-to-cart"]) assert.ok(names.includes(name), `${name} in ${names}`);
  assert.ok(sent.every((batch) => batch.events.every((e) => e.product === "tee-01")), JSON.stringify(sent));
  const text = beacons.join("");
  assert.ok(!/\/files\/|blob:|data:|https?:\/\//.test(text), `no photo or URL in the beacons: ${text}`);
  await shop.close();

  const after = await summary();
  assert.ok(after.today.started >= before.today.started + 1, "the try-on is counted");
  assert.ok(after.today.succeeded >= before.today.succeeded + 1);
  assert.ok(after.caps.spend_today_cny > before.caps.spend_today_cny, "its image is billed");
  assert.ok(after.caps.images_today >= before.caps.images_today + 1);
  assert.ok(shoppersAt(after.funnel, "tee-01", "add-to-cart") >= shoppersAt(before.funnel, "tee-01", "add-to-cart") + 1);
  assert.ok(after.time_to_result.samples >= 1 && after.time_to_result.median_seconds > 0);

  // The owner signs in with the form and reads the same on the page.
  const owner = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const violations = [];
  owner.on("console", (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
  });
  await owner.goto(`${proxyUrl}/admin/?lang=en`);
  await owner.getByLabel("Admin token").fill(adminToken);
  await owner.getByRole("button", { name: "Sign in" }).click();
  await owner.getByRole("heading", { name: "Try-on dashboard" }).waitFor();
  const cookies = await owner.context().cookies();
  const session = cookies.find((c) => c.name === "tryon_admin");
  assert.ok(session && session.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));

  const big = async (title) =>
    owner.locator("article.card", { has: owner.getByRole("heading", { name: title }) }).locator(".big").textContent();
  assert.ok(Number(await big("Try-ons today")) >= before.today.started + 1, "the try-on on the page");
  const spend = Number((await big("Spend today")).replace("¥", ""));
  assert.ok(spend > before.caps.spend_today_cny, `the spend on the page: ${spend}`);
  const tee = owner.locator("article.product", { has: owner.getByRole("heading", { name: "tee-01" }) });
  const cart = tee.locator('li[data-step="add-to-cart"]');
  assert.match(await cart.locator(".step").textContent(), /Add to cart/);
  assert.ok(parseInt(await cart.locator(".num").textContent(), 10) >= 1, "the add-to-cart step of the tee");

  await owner.screenshot({ path: path.join(shotDir, "dashboard-1280.png"), fullPage: true });
  await owner.setViewportSize({ width: 375, height: 812 });
  // Nothing may stick out sideways on a phone.
  const overflow = await owner.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 375 px phone`);
  await owner.screenshot({ path: path.join(shotDir, "dashboard-375.png"), fullPage: true });
  // The period links keep the language; "Today" narrows the charts to one day.
  await owner.getByRole("link", { name: "Today" }).click();
  await owner.waitForURL(/\/admin\/\?days=1&lang=en$/);
  assert.equal(await owner.locator('.period a[aria-current="page"]').textContent(), "Today");
  await owner.getByRole("link", { name: "中文" }).click();
  await owner.getByRole("heading", { name: "试衣数据面板" }).waitFor();
  await owner.screenshot({ path: path.join(shotDir, "dashboard-zh-375.png"), fullPage: true });
  assert.deepEqual(violations, [], "the page needs nothing its policy forbids");

  // Signed out, the same page is refused again.
  await owner.getByRole("button", { name: "退出登录" }).click();
  await owner.getByLabel("管理口令").waitFor();
  const again = await owner.goto(`${proxyUrl}/admin/`);
  assert.equal(again.status(), 401);
  await owner.close();
});
