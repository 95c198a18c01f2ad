// Entry point: one App with every stack of one environment (`--env` / MAESTRO_ENV, default staging).
// `npm run synth` and `npx cdktf synth` both run this file.
import { App } from "cdktf";
import { ConfigError, loadEnvironment, resolveEnvironmentName } from "./config/load";
import { loadManifestSchemas } from "./constructs/k8s/schemas";
import { gateSynthOutput } from "./policy-engine/synth-gate";
import { buildStacks } from "./stacks";

async function main(): Promise<void> {
  const config = loadEnvironment(resolveEnvironmentName(process.argv.slice(2), process.env));
  await loadManifestSchemas();
  const app = new App({ outdir: process.env.CDKTF_OUTDIR || "cdktf.out" });
  buildStacks(app, config);
  app.synth();
  // The policy gate (docs/policies.md): any deny fails synth, naming rule, stack, resource and fix.
  const report = await gateSynthOutput(app.outdir, config, (text) => process.stderr.write(text));
  if (report.violations.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
