// jest globalTeardown: removes the run's shared synth folder (global-setup.ts).
import { rmSync } from "node:fs";
import { sharedSynthDirVariable } from "../../harness/synth-share";

export default function globalTeardown(): void {
  const dir = process.env[sharedSynthDirVariable];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
