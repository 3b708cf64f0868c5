// Serves an already built bundle (dist/) as `trunk serve` does, compressed as a shop's CDN would, and forwards /api/ to the try-on proxy as Trunk.toml's [[proxy]] says.
//
// `trunk serve` always builds the bundle before it serves it, so a step that has just run
// `trunk build --release` would build it twice; this server serves what is there. It does
// what the end-to-end tests need of trunk's server: files by their type (compressed with
// brotli or gzip when the browser takes it, as the bundle reaches shoppers), index.html for
// a path that names no file (trunk's single-page fallback), and /api/ forwarded unchanged
// (method, headers, body, streaming answers and held long polls) to the backend that
// Trunk.toml names, so that the two cannot drift apart.
//
// Usage: node scripts/serve-dist.mjs [--port 8080] [--address 127.0.0.1] [DIST]
import { createReadStream, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import zlib from "node:zlib";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function options(argv) {
  const found = { port: 8080, address: "127.0.0.1", dist: path.join(repoRoot, "dist") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port") found.port = Number(argv[++i]);
    else if (arg === "--address") found.address = argv[++i];
    else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}`);
    else found.dist = path.resolve(arg);
  }
  if (!Number.isInteger(found.port)) throw new Error("--port needs a number");
  return found;
}

/// The first [[proxy]] entry of Trunk.toml: where /api/ goes, and the prefix it is taken from.
function trunkProxy() {
  const toml = readFileSync(path.join(repoRoot, "Trunk.toml"), "utf8");
  const entry = toml.split(/^\[\[proxy\]\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  const value = (key) => entry.match(new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, "m"))?.[1];
  const backend = value("backend");
  const rewrite = value("rewrite");
  if (!backend || !rewrite) throw new Error("Trunk.toml has no [[proxy]] entry with a backend and a rewrite");
  return { backend: new URL(backend), rewrite };
}

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".txt": "text/plain",
};

/// The file under `dist` that a request path names, or index.html when it names none.
function fileFor(dist, pathname) {
  let decoded;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  const wanted = path.resolve(dist, `.${path.posix.normalize(decoded)}`);
  if (wanted !== dist && !wanted.startsWith(dist + path.sep)) return null;
  for (const candidate of [wanted, path.join(wanted, "index.html"), path.join(dist, "index.html")]) {
    try {
      const stat = statSync(candidate);
      if (stat.isFile()) return { file: candidate, stat };
    } catch {
      // Not there: the next candidate is tried.
    }
  }
  return null;
}

/// Files that are sent compressed when the browser takes it, as a shop's CDN sends them:
/// everything but the images, which are compressed already.
const COMPRESSED_AS = [
  ["br", (bytes) => promisify(zlib.brotliCompress)(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } })],
  ["gzip", (bytes) => promisify(zlib.gzip)(bytes, { level: 9 })],
];
const IMAGES = new Set([".png", ".jpg", ".jpeg", ".webp", ".ico"]);

/// Each file's compressed bytes, made on its first request and kept while it is unchanged.
const compressions = new Map();
function compressedBody(file, stat, encoding, compress) {
  const key = `${encoding} ${file}`;
  const kept = compressions.get(key);
  if (kept?.mtime === stat.mtimeMs) return kept.body;
  const body = readFile(file).then(compress);
  compressions.set(key, { mtime: stat.mtimeMs, body });
  return body;
}

async function serveFile(dist, request, response, pathname) {
  const found = fileFor(dist, pathname);
  if (!found || !["GET", "HEAD"].includes(request.method)) {
    response.writeHead(found ? 405 : 404).end();
    return;
  }
  const headers = {
    "content-type": TYPES[path.extname(found.file).toLowerCase()] ?? "application/octet-stream",
    "last-modified": found.stat.mtime.toUTCString(),
    vary: "accept-encoding",
  };
  const accepted = request.headers["accept-encoding"] ?? "";
  const [encoding, compress] = IMAGES.has(path.extname(found.file).toLowerCase())
    ? []
    : (COMPRESSED_AS.find(([name]) => new RegExp(`\\b${name}\\b`).test(accepted)) ?? []);
  if (encoding) {
    const body = await compressedBody(found.file, found.stat, encoding, compress);
    response.writeHead(200, { ...headers, "content-encoding": encoding, "content-length": body.length });
    response.end(request.method === "HEAD" ? undefined : body);
    return;
  }
  response.writeHead(200, { ...headers, "content-length": found.stat.size });
  if (request.method === "HEAD") response.end();
  else createReadStream(found.file).pipe(response);
}

/// Headers that belong to one connection, not to the message, so they are not passed on.
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
]);

function endToEnd(rawHeaders) {
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

function forward(proxy, request, response, url) {
  const target = new URL(proxy.backend.pathname + url.pathname.slice(proxy.rewrite.length) + url.search, proxy.backend);
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
  headers.host = target.host;
  const upstream = http.request(target, { method: request.method, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, endToEnd(answer.rawHeaders));
    answer.pipe(response);
  });
  upstream.on("error", (error) => {
    if (!response.headersSent) response.writeHead(502, { "content-type": "text/plain" });
    response.end(`the proxy at ${proxy.backend.origin} could not be reached: ${error.message}`);
  });
  // A browser that goes away (an aborted long poll) ends the forwarded call too.
  response.on("close", () => upstream.destroy());
  request.pipe(upstream);
}

const { port, address, dist } = options(process.argv.slice(2));
const proxy = trunkProxy();
statSync(path.join(dist, "index.html"));

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? "/", `http://${request.headers.host ?? address}`);
  if (url.pathname.startsWith(proxy.rewrite)) forward(proxy, request, response, url);
  else
    serveFile(dist, request, response, url.pathname).catch((error) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
      response.end(`the file could not be served: ${error.message}`);
    });
});
// Long polls are held for up to 25 s by the proxy; nothing here cuts them short.
server.requestTimeout = 0;
server.listen(port, address, () => {
  console.log(`serving ${dist} at http://${address}:${port}/, ${proxy.rewrite} forwarded to ${proxy.backend.href}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
