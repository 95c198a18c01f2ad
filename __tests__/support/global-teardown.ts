// jest globalTeardown: removes the folder the run's suites shared (global-setup.ts).
import { rmSync } from "node:fs";
import { sharedRunDirVariable } from "../../harness/run-share";

export default function globalTeardown(): void {
  const dir = process.env[sharedRunDirVariable];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
