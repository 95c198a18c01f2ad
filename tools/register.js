// Transpile-only TypeScript for every entry point (synth, the CLIs, the service), the one hook the
// project's scripts use (`node -r ./tools/register.js file.ts`). Type-checking is a separate step
// (npm run typecheck). Three choices keep synth fast:
// - Transpiled files are cached by content hash under node_modules/.cache/maestro-ts, so a warm run
//   does not even load esbuild.
// - Source maps are off: with them on, Node source-maps every stack trace, and cdktf captures one
//   for each lazy token (about half a second of every synth). MAESTRO_SOURCE_MAPS=1 turns them on
//   (inline maps, nothing cached) when a stack trace needs TypeScript line numbers.
// - V8's compile cache (module.enableCompileCache) for every module loaded after this one, under
//   node_modules/.cache/node-compile: compiling cdktf's and the providers' CommonJS was a third of
//   a synth. NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
"use strict";
const { enableCompileCache } = require("node:module");
const { join } = require("node:path");

// Node 22.1+. A plain `npm ci && npm run synth` on a machine whose own Node is older runs synth on
// that Node (README's `npm run bootstrap` installs the pin first): it still works there, only slower.
if (typeof enableCompileCache === "function") enableCompileCache(join(__dirname, "..", "node_modules", ".cache", "node-compile"));

const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { addHook } = require("pirates");

const sourceMaps = process.env.MAESTRO_SOURCE_MAPS === "1";
const target = "node24"; // the major of .nvmrc; part of the cache key, like esbuild's version
const cacheDir = join(__dirname, "..", "node_modules", ".cache", "maestro-ts");
let esbuild;
let esbuildVersion;

function transpile(code, filename) {
  esbuild ??= require("esbuild");
  return esbuild.transformSync(code, {
    sourcefile: filename,
    loader: filename.endsWith(".tsx") ? "tsx" : "ts",
    format: "cjs",
    target,
    jsx: "automatic",
    sourcemap: sourceMaps ? "inline" : false,
  }).code;
}

function compile(code, filename) {
  if (sourceMaps) return transpile(code, filename);
  esbuildVersion ??= require("esbuild/package.json").version;
  const key = createHash("sha256")
    .update(esbuildVersion)
    .update("\0")
    .update(target)
    .update("\0")
    .update(filename)
    .update("\0")
    .update(code)
    .digest("hex");
  const cached = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const js = transpile(code, filename);
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, js);
      renameSync(tmp, cached); // atomic: concurrent runs never read a half-written file
    } catch {
      // A read-only node_modules only costs speed.
    }
    return js;
  }
}

addHook(compile, { exts: [".ts", ".tsx"], ignoreNodeModules: true });
if (!sourceMaps) process.setSourceMapsEnabled(false);
