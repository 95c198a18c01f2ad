// jest globalSetup: the Node guard, then the folder the run's suites share synth output in
// (harness/synth.ts). The workers are forks started after this, so they inherit the variable.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedSynthDirVariable } from "../../harness/synth-share";
import nodeGuard from "./node-guard";

export default function globalSetup(): void {
  nodeGuard();
  process.env[sharedSynthDirVariable] = mkdtempSync(join(tmpdir(), "maestro-jest-synth-"));
}
