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

export const suite: BenchSuite = {
  title: "Synth (all six stacks, staging)",
  async run() {
    const out = mkdtempSync(join(tmpdir(), "maestro-bench-synth-"));
    const entry = join(root, "bench-template-entry.ts");
    writeFileSync(entry, templateEntry);
    try {
      const env = { CDKTF_OUTDIR: join(out, "cdktf.out") };
      const ours = measureCommand("npm", ["run", "-s", "synth"], { runs: 5, env, cwd: root });
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
          name: "synth wall time",
          subject: "npm run synth (deep imports, cached esbuild transpile, no source maps)",
          value: ms(ours.medianMs),
          baseline: "template: npx ts-node main.ts (type-checked, provider barrels)",
          baselineValue: ms(template.medianMs),
          ratio: ratio(ours.medianMs, template.medianMs),
          target: "≤ 1.5 s",
          met: ours.medianMs <= 1500,
        },
        {
          name: "synth peak RSS",
          subject: "npm run synth",
          value: mb(ours.peakRssMb),
          baseline: "template (as above)",
          baselineValue: mb(template.peakRssMb),
          ratio: ratio(ours.peakRssMb, template.peakRssMb),
          target: "≤ 300 MB",
          met: ours.peakRssMb <= 300,
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
