// jest globalSetup: the Node guard, then the folder the run's suites share synth output and a database in
// (harness/synth.ts, harness/pglite-template.ts). The workers are forks started after this, so they inherit the variable.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedRunDirVariable } from "../../harness/run-share";
import nodeGuard from "./node-guard";

export default function globalSetup(): void {
  nodeGuard();
  process.env[sharedRunDirVariable] = mkdtempSync(join(tmpdir(), "maestro-jest-run-"));
}
