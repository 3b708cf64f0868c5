// Shrinks the release bundle that trunk has staged: short wasm import and export names, minified JS glue, loader and dialog CSS.
//
// Trunk runs this as a post-build hook (Trunk.toml) with TRUNK_STAGING_DIR set; debug
// builds are left readable. Every byte here is paid on a shopper's first tap (or, for the
// loader, on every product page), so:
// - the classes that wasm-streams exports for Leptos's streaming server functions, which
//   the widget never uses, are cut from the glue (their exports never reach the
//   WebAssembly: scripts/wasm-link.sh leaves them out at link time);
// - wasm-opt renames every import and export of the WebAssembly to a name of one or two
//   letters (wasm-bindgen's carry a 16-digit hash each, in the wasm and in the glue, and
//   hashes compress badly), drops the producers and target-features sections, and runs
//   its size passes again around a flatten and re-loop of the control flow (as -O4 does),
//   twice, which finds a little more to fold each time (a third round found nothing;
//   `--converge` would repeat the renaming too, and in a call of its own it grew the
//   bundle); the glue is then rewritten to the new names, and
//   the rewrite checks that every name the glue uses is one the WebAssembly has;
// - esbuild minifies the glue (an ES module), the loader (a classic script, which must
//   stay one for `document.currentScript`) and the dialog's CSS.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (process.env.TRUNK_PROFILE !== "release") process.exit(0);
const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error("TRUNK_STAGING_DIR is not set: this script runs as trunk's post-build hook");

const wasmFile = path.join(dir, "tryon-widget_bg.wasm");
const glueFile = path.join(dir, "tryon-widget.js");

let glue = readFileSync(glueFile, "utf8");

// Leptos turns on the streaming of its server functions, whose wasm-streams exports three
// classes to JavaScript. The linker leaves their exports out (scripts/wasm-link.sh), but
// wasm-bindgen still writes their glue from its own description of them; it goes here.
for (const name of ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"]) {
  const dispose = `if \\(Symbol\\.dispose\\) ${name}\\.prototype\\[Symbol\\.dispose\\] = ${name}\\.prototype\\.free;\\n`;
  for (const part of [
    new RegExp(`^export class ${name} \\{\\n[\\s\\S]*?^\\}\\n(?:${dispose})?`, "m"),
    new RegExp(`^const ${name}Finalization = [\\s\\S]*?;\\n`, "m"),
  ]) {
    if (!part.test(glue)) throw new Error(`the glue's ${name} is not laid out as expected (${part})`);
    glue = glue.replace(part, "");
  }
  if (new RegExp(`\\b${name}\\b`).test(glue)) throw new Error(`the glue still uses ${name}`);
}

// The npm binaryen (Trunk.toml pins version 132), not whatever wasm-opt PATH finds first.
const wasmOpt = path.join(repoRoot, "node_modules", ".bin", "wasm-opt");
const mapping = JSON.parse(
  execFileSync(
    wasmOpt,
    [
      wasmFile,
      "--enable-reference-types",
      // The linker puts the 1 MiB stack first in memory, growing down towards address 0,
      // and the data after it: the low 1 KiB is only reached by a stack 1023 KiB deep,
      // which the widget never has. Knowing so, wasm-opt folds constant parts of
      // addresses into the loads and stores.
      "--low-memory-unused",
      "-Oz",
      "--flatten",
      "--rereloop",
      "-Oz",
      "--flatten",
      "--rereloop",
      "-Oz",
      "--minify-imports-and-exports-and-modules",
      "--strip-producers",
      "--strip-target-features",
      "-o",
      wasmFile,
    ],
    { encoding: "utf8" },
  ),
);

const escape = (name) => name.replace(/[$]/g, "\\$&");
for (const [, from, to] of mapping.imports) {
  // Each import is one key of the glue's import object, and appears nowhere else.
  const key = new RegExp(`^(\\s*)${escape(from)}:`, "m");
  if ((glue.match(new RegExp(`\\b${escape(from)}\\b`, "g")) ?? []).length !== 1 || !key.test(glue)) {
    throw new Error(`the glue does not name the import ${from} exactly once, as a key`);
  }
  glue = glue.replace(key, `$1${JSON.stringify(to)}:`);
}
// The imports' module got a short name too, which the mapping leaves out: the compiled
// module tells it.
const before = new Set(mapping.imports.map(([module]) => module));
const after = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile))).map((entry) => entry.module));
if (before.size !== 1 || after.size !== 1) {
  throw new Error(`expected the imports of one module, found ${[...before].join(", ")} renamed ${[...after].join(", ")}`);
}
const moduleKey = `${JSON.stringify([...before][0])}: import0`;
if (!glue.includes(moduleKey)) throw new Error(`the glue does not hand its imports over as ${moduleKey}`);
glue = glue.replace(moduleKey, `${JSON.stringify([...after][0])}: import0`);

const exports = new Map(mapping.exports);
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (whole, name) => {
  const renamed = exports.get(name);
  if (renamed === undefined) throw new Error(`the glue uses wasm.${name}, which the WebAssembly does not export`);
  return `wasm[${JSON.stringify(renamed)}]`;
});

const minify = (source, options) => transformSync(source, { minify: true, legalComments: "none", ...options }).code;
// Tree shaking drops what the removed classes alone used (their enum of stream types).
writeFileSync(glueFile, minify(glue, { format: "esm", loader: "js", treeShaking: true }));
for (const [file, loader] of [["loader.js", "js"], ["widget.css", "css"]]) {
  const target = path.join(dir, file);
  writeFileSync(target, minify(readFileSync(target, "utf8"), { loader }));
}
