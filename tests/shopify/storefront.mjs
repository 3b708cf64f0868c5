// A stand-in for a Shopify storefront with the try-on app installed: product pages that render the app block's Liquid (with LiquidJS), its assets served from another origin as Shopify's CDN does, and the app proxy that signs and forwards /apps/tryon/* to the try-on proxy.
//
// What it copies from Shopify, and from where:
// - The block is rendered from integrations/shopify/.../blocks/tryon.liquid itself, with
//   the settings' defaults read from its own {% schema %}, `product`, `block` and
//   `request.locale` as Shopify's objects, and `image_url` giving a protocol-relative URL
//   on the shop's domain (`//{shop}/cdn/shop/files/...`) as Shopify's does; the picture
//   is served as stored (this stand-in converts no formats).
// - Shopify adds the block's javascript asset to the page as a deferred script from its
//   CDN, another origin than the shop's: here `cdn.shopify.test` while the shop is `127.0.0.1`,
//   with `Access-Control-Allow-Origin: *`, so that the loader's import of the bundle is
//   cross-origin as on a real shop.
// - The app proxy (Shopify's "Authenticate app proxies"): the path after /apps/tryon is
//   forwarded with `shop`, `logged_in_customer_id` (the customer logged in to this
//   storefront: its `storefront_customer` cookie, or empty), `path_prefix`, `timestamp`
//   and `signature` appended, `X-Forwarded-For` and `X-Forwarded-Host` set, the Cookie
//   header dropped on the way in and Set-Cookie on the way out. It also drops `Origin`:
//   Shopify forwards only some headers, and the widget must work without it.
//   /apps/tryon-forged/* is the same, signed with another secret (a misconfigured app).
// - `window.Shopify.analytics.publish` records what would reach the shop's Web Pixels.
import { createReadStream, readFileSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { Liquid } from "liquidjs";
import { SECRET, SHOP, forwardedQuery, repoRoot } from "./app-proxy.mjs";

export const extensionDir = path.join(repoRoot, "integrations", "shopify", "extensions", "virtual-tryon");
const blockFile = path.join(extensionDir, "blocks", "tryon.liquid");
const ASSET_PATH = "/extensions/virtual-tryon/assets/";
/// The CDN's host name; the browser test maps it to 127.0.0.1 (Chromium's
/// --host-resolver-rules), so that the assets come from another origin than the page.
export const CDN_HOST = "cdn.shopify.test";
const FORGED_SECRET = "shpss_not0123456789abcdef0123456789ab";

/// The products of the stand-in shop: their images are the demo's samples.
export const PRODUCTS = {
  "classic-tee": { id: 8001, title: "Classic Tee", images: ["top-tee.png"], kind: "top" },
  "wide-trousers": { id: 8002, title: "Wide Trousers", images: ["bottom-trousers.png"], kind: "bottom" },
  "summer-set": { id: 8003, title: "Summer Set", images: ["top-shirt.png", "bottom-skirt.png"], kind: "outfit" },
  "lonely-set": { id: 8004, title: "Set Without Its Bottom", images: ["top-tee.png"], kind: "outfit" },
};

const TYPES = { ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".png": "image/png", ".jpg": "image/jpeg" };
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]);

/// The block's Liquid without its schema, and the schema's setting defaults.
function readBlock() {
  const source = readFileSync(blockFile, "utf8");
  const schema = source.match(/{%-?\s*schema\s*-?%}([\s\S]*?){%-?\s*endschema\s*-?%}/);
  if (!schema) throw new Error(`${blockFile} has no {% schema %}`);
  const defaults = {};
  for (const setting of JSON.parse(schema[1]).settings) {
    if (setting.id) defaults[setting.id] = setting.default ?? "";
  }
  return { liquid: source.replace(schema[0], ""), defaults };
}

function liquidEngine(shopHost) {
  const engine = new Liquid({ strictFilters: true });
  // Shopify's image_url: a protocol-relative CDN URL on the shop's own domain with the
  // asked size and format as parameters.
  engine.registerFilter("image_url", (image, ...options) => {
    const query = new URLSearchParams({ v: "1" });
    for (const [name, value] of options) query.set(name, String(value));
    return `//${shopHost}/cdn/shop/files/${image.src}?${query}`;
  });
  return engine;
}

/// Renders the block for `handle` with the schema's defaults under `overrides`.
export async function renderBlock(handle, { shopHost, locale = "en", overrides = {} }) {
  const product = PRODUCTS[handle];
  const { liquid, defaults } = readBlock();
  const images = product.images.map((src) => ({ src }));
  return liquidEngine(shopHost).parseAndRender(liquid, {
    product: { id: product.id, title: product.title, featured_image: images[0], images },
    block: { id: "tryon-1", settings: { ...defaults, garment_kind: product.kind, ...overrides }, shopify_attributes: "" },
    request: { locale: { iso_code: locale } },
  });
}

/// A product page of a theme with the block in its main section, and what Shopify adds:
/// its `window.Shopify` (with the Web Pixels' `analytics.publish`) and the block's
/// javascript asset.
async function productPage(handle, url, { shopHost, assetBase }) {
  const overrides = Object.fromEntries([...url.searchParams].filter(([name]) => name !== "locale"));
  const locale = url.searchParams.get("locale") ?? "en";
  const block = await renderBlock(handle, { shopHost, locale, overrides });
  const product = PRODUCTS[handle];
  return `<!doctype html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<title>${product.title} – Stand-in Shop</title>
<script>
  // What Shopify's storefront defines before any app script; publish() records the
  // custom events the shop's Web Pixels would receive.
  window.__pixelEvents = [];
  window.Shopify = { shop: ${JSON.stringify(SHOP)}, locale: ${JSON.stringify(locale)},
    analytics: { publish(name, data) { window.__pixelEvents.push({ name, data: JSON.parse(JSON.stringify(data ?? {})) }); } } };
  // The theme's own listener, as a shop's analytics code would be.
  window.shopEvents = [];
  for (const type of ["open", "close", "photo", "submit", "status", "result", "error", "download", "add-to-cart", "unavailable"]) {
    document.addEventListener("tryon:" + type, (event) => window.shopEvents.push({ type: event.type, detail: event.detail }));
  }
</script>
</head>
<body>
<main class="product">
  <h1>${product.title}</h1>
  <div class="product__block">
${block}
  </div>
</main>
<script src="${assetBase}loader.js" defer></script>
</body>
</html>`;
}

function serveFile(response, file) {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, {
    "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
    "content-length": stat.size,
    // Shopify's CDN serves the extension's assets to any storefront.
    "access-control-allow-origin": "*",
  });
  createReadStream(file).pipe(response);
}

/// Forwards an app proxy request as Shopify does (see the file's head).
function forward(storefront, request, response, url, { prefix, secret }) {
  const customer = /(?:^|;\s*)storefront_customer=(\d+)/.exec(request.headers.cookie ?? "")?.[1] ?? "";
  const query = forwardedQuery(url.search.slice(1), { customer, secret, pathPrefix: prefix });
  const target = new URL(`${url.pathname.slice(prefix.length) || "/"}?${query}`, storefront.proxyBase);
  const headers = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HOP_BY_HOP.has(name) && !["cookie", "origin", "host"].includes(name)) headers[name] = value;
  }
  headers["x-forwarded-for"] = request.socket.remoteAddress.replace(/^::ffff:/, "");
  headers["x-forwarded-host"] = request.headers.host;
  const record = { method: request.method, path: url.pathname, customer, status: 0 };
  storefront.forwarded.push(record);
  const upstream = http.request(target, { method: request.method, headers }, (answer) => {
    record.status = answer.statusCode;
    const kept = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (!HOP_BY_HOP.has(name) && name !== "set-cookie") kept[name] = value;
    }
    response.writeHead(answer.statusCode ?? 502, kept);
    answer.pipe(response);
  });
  upstream.on("error", (error) => {
    if (!response.headersSent) response.writeHead(502, { "content-type": "text/plain" });
    response.end(`the try-on proxy could not be reached: ${error.message}`);
  });
  // A shopper who goes away (an aborted long poll) ends the forwarded call too.
  response.on("close", () => upstream.destroy());
  // The body is read whole before it is sent on, as a proxy in front of a server does,
  // so that an answer given before the body was read (a refused signature) still
  // arrives instead of a broken pipe.
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => upstream.end(Buffer.concat(chunks)));
}

/// Starts the storefront on a free port; `proxyBase` (the try-on proxy's URL) may be set
/// later, before the first app proxy request.
export async function startStorefront() {
  const storefront = { proxyBase: null, forwarded: [] };
  const server = http.createServer((request, response) => {
    const host = request.headers.host ?? "";
    const url = new URL(request.url ?? "/", `http://${host}`);
    const onCdn = host.startsWith(`${CDN_HOST}:`);
    if (onCdn && url.pathname.startsWith(ASSET_PATH)) {
      return serveFile(response, path.join(extensionDir, "assets", path.basename(url.pathname)));
    }
    if (onCdn) return response.writeHead(404).end();
    if (url.pathname.startsWith("/apps/tryon-forged/")) {
      return forward(storefront, request, response, url, { prefix: "/apps/tryon-forged", secret: FORGED_SECRET });
    }
    if (url.pathname.startsWith("/apps/tryon/")) {
      return forward(storefront, request, response, url, { prefix: "/apps/tryon", secret: SECRET });
    }
    if (url.pathname.startsWith("/cdn/shop/files/")) {
      return serveFile(response, path.join(repoRoot, "www", "samples", path.basename(url.pathname)));
    }
    const handle = url.pathname.match(/^\/products\/([a-z-]+)$/)?.[1];
    if (handle && PRODUCTS[handle]) {
      productPage(handle, url, storefront.pages).then(
        (html) => response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html),
        (error) => response.writeHead(500, { "content-type": "text/plain" }).end(String(error?.stack ?? error)),
      );
      return;
    }
    response.writeHead(404).end();
  });
  // Long polls are held for up to 25 s by the proxy; nothing here cuts them short.
  server.requestTimeout = 0;
  await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address();
  storefront.origin = `http://127.0.0.1:${port}`;
  storefront.shopHost = `127.0.0.1:${port}`;
  storefront.pages = { shopHost: storefront.shopHost, assetBase: `http://${CDN_HOST}:${port}${ASSET_PATH}` };
  storefront.close = () =>
    new Promise((closed) => {
      server.close(closed);
      server.closeAllConnections();
    });
  return storefront;
}
