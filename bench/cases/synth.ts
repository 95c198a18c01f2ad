import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureCommand, mb, ms, ratio, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

// The baseline is this same app run the way the cdktf project template runs it: ts-node with
// type-checking, and the provider barrels loaded as a template project's imports load them.
const templateEntry = `
require("@cdktf/provider-aws");
require("@cdktf/provider-kubernetes");
require("@cdktf/provider-helm");
require("./main.ts");
`;

// `npm run bench` runs on the pinned Node (node_modules/.bin/node), so process.execPath, and the
// `npm` these rows start, run on it too: what CI with setup-node and a Node-24 machine see.
export const suite: BenchSuite = {
  title: "Synth (all six stacks, staging)",
  async run() {
    const out = mkdtempSync(join(tmpdir(), "maestro-bench-synth-"));
    const entry = join(root, "bench-template-entry.ts");
    writeFileSync(entry, templateEntry);
    try {
      // Its own snapshot cache, so the rebuild row starts from nothing and the blob is known.
      const cache = join(out, "snapshot");
      const env = { CDKTF_OUTDIR: join(out, "cdktf.out"), MAESTRO_SYNTH_CACHE: cache };
      const synthArgs = ["-r", "./tools/register.js", "main.ts"];
      // One run each fills the transpile and compile caches and builds the snapshot, as any earlier
      // synth on the machine has.
      measureCommand(process.execPath, synthArgs, { runs: 1, env, cwd: root });
      measureCommand("bash", ["tools/synth/run.sh"], { runs: 1, env, cwd: root });
      const blobs = readdirSync(cache).filter((f) => f.endsWith(".blob"));
      if (blobs.length !== 1) throw new Error(`expected one snapshot blob in ${cache}, found ${blobs.join(", ") || "none"}`);
      const blob = join(cache, blobs[0]!);
      const snapshot = measureCommand(process.execPath, ["--snapshot-blob", blob, "main.ts"], { runs: 9, env, cwd: root });
      const node = measureCommand(process.execPath, synthArgs, { runs: 7, env, cwd: root });
      const noCompileCache = measureCommand(process.execPath, synthArgs, {
        runs: 5,
        env: { ...env, NODE_DISABLE_COMPILE_CACHE: "1" },
        cwd: root,
      });
      const launcher = measureCommand("bash", ["tools/synth/run.sh"], { runs: 7, env, cwd: root });
      const rebuild = measureCommand("bash", ["-c", 'rm -rf "$MAESTRO_SYNTH_CACHE" && exec bash tools/synth/run.sh'], {
        runs: 3,
        env,
        cwd: root,
      });
      const ours = measureCommand("npm", ["run", "-s", "synth"], { runs: 7, env, cwd: root });
      const nodeRun = measureCommand(process.execPath, ["--run", "synth"], { runs: 7, env, cwd: root });
      const template = measureCommand("npx", ["ts-node", "--project", "bench/tsconfig.template.json", entry], {
        runs: 3,
        env: { ...env, TS_NODE_TRANSPILE_ONLY: "false", TS_NODE_SWC: "false" },
        cwd: root,
      });
      const cli = measureCommand("npx", ["cdktf", "synth", "--output", join(out, "cli.out")], {
        runs: 3,
        env: { CHECKPOINT_DISABLE: "1" },
        cwd: root,
      });
      return [
        {
          name: "synth node process (warm start-up snapshot)",
          subject: "npm run synth's node: node --snapshot-blob <blob> main.ts (tools/synth/run.sh)",
          value: ms(snapshot.medianMs),
          baseline: "node -r ./tools/register.js main.ts (V8 compile cache, no snapshot)",
          baselineValue: ms(node.medianMs),
          ratio: ratio(snapshot.medianMs, node.medianMs),
          target: "≤ 0.6 s",
          met: snapshot.medianMs <= 600,
        },
        {
          name: "synth node process CPU time (user + system)",
          subject: "node --snapshot-blob <blob> main.ts",
          value: ms(snapshot.cpuMs),
          baseline: "node -r ./tools/register.js main.ts",
          baselineValue: ms(node.cpuMs),
          ratio: ratio(snapshot.cpuMs, node.cpuMs),
        },
        {
          name: "V8 compile cache, without the snapshot",
          subject: "node -r ./tools/register.js main.ts (V8 compile cache)",
          value: ms(node.medianMs),
          baseline: "the same with NODE_DISABLE_COMPILE_CACHE=1",
          baselineValue: ms(noCompileCache.medianMs),
          ratio: ratio(node.medianMs, noCompileCache.medianMs),
        },
        {
          name: "the snapshot's key check (hash of its inputs) and exec",
          subject: "bash tools/synth/run.sh",
          value: ms(launcher.medianMs),
          baseline: "node --snapshot-blob <blob> main.ts",
          baselineValue: ms(snapshot.medianMs),
          ratio: ratio(launcher.medianMs, snapshot.medianMs),
        },
        {
          name: "synth after an input changed (bundle, build the snapshot, synth)",
          subject: "bash tools/synth/run.sh with an empty cache",
          value: ms(rebuild.medianMs),
          baseline: "the same with the blob in place",
          baselineValue: ms(launcher.medianMs),
          ratio: ratio(rebuild.medianMs, launcher.medianMs),
        },
        {
          name: "synth wall time",
          subject: "npm run synth (start-up snapshot, deep imports, no source maps)",
          value: ms(ours.medianMs),
          baseline: "template: npx ts-node main.ts (type-checked, provider barrels)",
          baselineValue: ms(template.medianMs),
          ratio: ratio(ours.medianMs, template.medianMs),
          target: "≤ 1.0 s",
          met: ours.medianMs <= 1000,
        },
        {
          name: "synth without npm's start",
          subject: "node --run synth",
          value: ms(nodeRun.medianMs),
          baseline: "npm run synth",
          baselineValue: ms(ours.medianMs),
          ratio: ratio(nodeRun.medianMs, ours.medianMs),
        },
        {
          name: "synth peak RSS",
          subject: "node --snapshot-blob <blob> main.ts",
          value: mb(snapshot.peakRssMb),
          baseline: "template (as above)",
          baselineValue: mb(template.peakRssMb),
          ratio: ratio(snapshot.peakRssMb, template.peakRssMb),
          target: "≤ 250 MB",
          met: snapshot.peakRssMb <= 250,
        },
        {
          name: "synth through the CDKTF CLI",
          subject: "npx cdktf synth (runs cdktf.json's app)",
          value: ms(cli.medianMs),
          baseline: "npm run synth",
          baselineValue: ms(ours.medianMs),
          ratio: ratio(cli.medianMs, ours.medianMs),
        },
      ];
    } finally {
      rmSync(entry, { force: true });
      rmSync(out, { recursive: true, force: true });
    }
  },
};
