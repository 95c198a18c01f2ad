// Entry point: one App with every stack of one environment (`--env` / MAESTRO_ENV, default staging).
// `npm run synth` runs this file from a V8 start-up snapshot (tools/synth/run.sh: everything below
// already loaded, the schema models too); `npx cdktf synth` and `node -r ./tools/register.js main.ts`
// run it directly. Both write the same bytes.
import { startupSnapshot } from "node:v8";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { ConfigError, defaultEnvironment, loadEnvironment, resolveEnvironmentName } from "./config/load";
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

function run(): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
    } else {
      process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  });
}

if (startupSnapshot.isBuildingSnapshot()) {
  // tools/synth/build.js: the snapshot holds every module loaded, the schema models too, and the
  // functions that validating a config and building the stacks compile (one throw-away build of
  // staging, never written: same output, ~0.1 s less per run); synth itself runs, with this
  // process's argv and environment, each time the snapshot starts.
  const warmUp = async () => {
    await loadManifestSchemas();
    const outdir = mkdtempSync(join(tmpdir(), "maestro-synth-warm-up-"));
    try {
      buildStacks(new App({ outdir }), loadEnvironment(defaultEnvironment));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };
  warmUp().catch(() => undefined); // a config or schema error is reported by the run itself
  startupSnapshot.setDeserializeMainFunction(run);
} else {
  run();
}
