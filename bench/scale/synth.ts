// `node -r ./tools/register.js bench/scale/synth.ts <factor>`: main.ts's steps (schemas, stacks,
// synth to CDKTF_OUTDIR, policy gate) for the staging config scaled by <factor> (./config.ts), in
// a process of its own so the bench measures its wall time and peak RSS. Exit 1 on any deny.
import { App } from "cdktf";
import { gateSynthOutput } from "../../policy-engine/synth-gate";
import { loadManifestSchemas } from "../../constructs/k8s/schemas";
import { buildStacks } from "../../stacks";
import { scaledStaging } from "./config";

async function main(): Promise<void> {
  const factor = Number(process.argv[2]);
  const config = scaledStaging(factor);
  await loadManifestSchemas();
  const app = new App({ outdir: process.env.CDKTF_OUTDIR || "cdktf.out" });
  buildStacks(app, config);
  app.synth();
  const report = await gateSynthOutput(app.outdir, config, (text) => process.stderr.write(text));
  if (report.violations.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
