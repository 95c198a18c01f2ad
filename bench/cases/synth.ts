import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
      const env = { CDKTF_OUTDIR: join(out, "cdktf.out") };
      const synthArgs = ["-r", "./tools/register.js", "main.ts"];
      // One run fills the transpile and compile caches, as any earlier synth on the machine has.
      measureCommand(process.execPath, synthArgs, { runs: 1, env, cwd: root });
      const node = measureCommand(process.execPath, synthArgs, { runs: 7, env, cwd: root });
      const noCompileCache = measureCommand(process.execPath, synthArgs, {
        runs: 5,
        env: { ...env, NODE_DISABLE_COMPILE_CACHE: "1" },
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
          name: "synth node process (warm caches)",
          subject: "node -r ./tools/register.js main.ts (V8 compile cache)",
          value: ms(node.medianMs),
          baseline: "the same with NODE_DISABLE_COMPILE_CACHE=1",
          baselineValue: ms(noCompileCache.medianMs),
          ratio: ratio(node.medianMs, noCompileCache.medianMs),
          target: "≤ 0.6 s",
          met: node.medianMs <= 600,
        },
        {
          name: "synth node process CPU time (user + system)",
          subject: "node -r ./tools/register.js main.ts (V8 compile cache)",
          value: ms(node.cpuMs),
          baseline: "the same with NODE_DISABLE_COMPILE_CACHE=1",
          baselineValue: ms(noCompileCache.cpuMs),
          ratio: ratio(node.cpuMs, noCompileCache.cpuMs),
        },
        {
          name: "synth wall time",
          subject: "npm run synth (deep imports, cached esbuild transpile, no source maps)",
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
          subject: "node -r ./tools/register.js main.ts",
          value: mb(node.peakRssMb),
          baseline: "template (as above)",
          baselineValue: mb(template.peakRssMb),
          ratio: ratio(node.peakRssMb, template.peakRssMb),
          target: "≤ 250 MB",
          met: node.peakRssMb <= 250,
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
