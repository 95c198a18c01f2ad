// jest globalSetup: the workers are forks of this process (same binary), so checking here covers
// every test. Under CI=true a run on another major than .nvmrc's fails before any suite starts.
import { nodeMismatch } from "./node-pin";

export default function nodeGuard(): void {
  const mismatch = nodeMismatch();
  if (!mismatch) return;
  if (process.env.CI === "true") throw new Error(`jest: ${mismatch}`);
  process.stderr.write(`jest: warning: ${mismatch}\n`);
}
