// Builds synth's V8 start-up snapshot (tools/synth/run.sh calls this when the inputs changed):
// main.ts and everything it imports are bundled into one CommonJS file by esbuild, and
// `node --build-snapshot` runs that file up to the point where synth would start (main.ts defers
// its run with startupSnapshot.setDeserializeMainFunction) and saves the heap. Starting from the
// blob skips resolving, reading, compiling and running ~1,500 modules (cdktf's entry alone is 373,
// the schema models' ESM graph ~860): what is left is building the stacks, app.synth() and the gate.
//   node tools/synth/build.js <cache dir> <tag>
// Writes, for run.sh to move into place: <cache dir>/synth.blob.<tag> and <cache dir>/inputs.<tag>,
// the repository's own files the bundle read (one path a line), whose contents key the blob.
"use strict";
const { spawnSync } = require("node:child_process");
const { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require("node:fs");
const { dirname, join, relative } = require("node:path");
const esbuild = require("esbuild");

const root = join(__dirname, "..", "..");
const [cacheDir, tag] = process.argv.slice(2);
if (!cacheDir || !tag) {
  process.stderr.write("usage: node tools/synth/build.js <cache dir> <tag>\n");
  process.exit(2);
}
mkdirSync(cacheDir, { recursive: true });
const bundle = join(cacheDir, `synth.${tag}.js`);

// One file means one __dirname: files that use theirs (bundle.ts, walg-backup.ts, cdktf's fs.js …)
// get their own directory and file name back as locals.
const ownDirname = {
  name: "own-dirname",
  setup(build) {
    build.onLoad({ filter: /\.(ts|tsx|js|cjs|mjs)$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      const header = `var __dirname = ${JSON.stringify(dirname(args.path))}, __filename = ${JSON.stringify(args.path)};\n`;
      return { contents: header + source, loader: args.path.endsWith(".tsx") ? "tsx" : args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
};

esbuild
  .build({
    absWorkingDir: root,
    entryPoints: ["main.ts"],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    outfile: bundle,
    metafile: true,
    logLevel: "error",
    plugins: [ownDirname],
    minifyWhitespace: true,
    legalComments: "none",
  })
  .then(({ metafile }) => {
    const inputs = Object.keys(metafile.inputs)
      .map((p) => relative(root, join(root, p)))
      .filter((p) => !p.startsWith("node_modules/") && !p.startsWith(".."))
      .sort();
    const blob = join(cacheDir, `synth.blob.${tag}`);
    const built = spawnSync(process.execPath, ["--snapshot-blob", blob, "--build-snapshot", bundle], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    rmSync(bundle, { force: true });
    if (built.status !== 0) {
      rmSync(blob, { force: true });
      process.stderr.write(`synth: building the start-up snapshot failed (node --build-snapshot exited ${built.status}):\n${built.stderr}`);
      process.exit(1);
    }
    const list = join(cacheDir, `inputs.${tag}`);
    writeFileSync(`${list}.tmp`, `${inputs.join("\n")}\n`);
    renameSync(`${list}.tmp`, list);
  })
  .catch((err) => {
    rmSync(bundle, { force: true });
    process.stderr.write(`synth: bundling main.ts for the start-up snapshot failed: ${err.message}\n`);
    process.exit(1);
  });
