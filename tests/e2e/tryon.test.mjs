// End-to-end: a shopper tries the product on in a real headless Chromium, against the demo
// servers (trunk serve + the proxy with its embedded DashScope emulator) that scripts/test.sh
// starts. Playwright drives Debian's Chromium; it never downloads a browser of its own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const baseUrl = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8080/";
const shotDir = path.join(repoRoot, "target", "e2e");
const personPhoto = path.join(repoRoot, "www", "samples", "person-1.jpg");

let browser;

before(async () => {
  mkdirSync(shotDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // As root Chromium needs --no-sandbox; the rest keep it off the closed network.
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

test("a shopper uploads a photo and sees the try-on result", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  await page.goto(baseUrl);
  await page.getByRole("button", { name: "Try it on" }).click();
  await page.getByLabel("Your photo").setInputFiles(personPhoto);
  await page.getByRole("button", { name: "Generate" }).click();

  const result = page.locator('img[alt="Your try-on result"]');
  await result.waitFor({ state: "visible", timeout: 90_000 });
  // Visible is not enough: the image must have loaded and decoded.
  await page.waitForFunction(
    () => {
      const img = document.querySelector('img[alt="Your try-on result"]');
      return img && img.complete && img.naturalWidth > 0;
    },
    null,
    { timeout: 30_000 },
  );
  const src = await result.getAttribute("src");
  const size = await result.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  await page.screenshot({ path: path.join(shotDir, "result-1280.png"), fullPage: true });

  // The result is kept and served by the proxy, not linked to the upstream's 24 h URL.
  assert.match(src, /\/api\/v1\/tryon\/files\//, `result served by the proxy, got ${src}`);
  const person = readFileSync(personPhoto);
  assert.ok(person.length > 5 * 1024);
  // resolution -1 keeps the person photo's size.
  assert.ok(size[0] >= 150 && size[1] >= 150, `result size ${size}`);
  assert.deepEqual(pageErrors, [], "no uncaught errors on the page");
  await page.close();
});
