import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

/** The project-local tools folder (tools/install/tools.sh installs here). */
export const toolsBin = resolve(__dirname, "../../.tools/bin");

/** Absolute path of an executable from .tools/bin or PATH, or undefined. */
export function findBinary(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [toolsBin, ...extraDirs, ...(process.env.PATH ?? "").split(delimiter)];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `describe` for suites that need a real service or binary. Locally, a missing one skips the
 * suite with the reason; under CI=true it fails, so CI never goes green without the real peer.
 */
export function describeWithService(title: string, missing: string | undefined, body: () => void): void {
  if (!missing) {
    describe(title, body);
    return;
  }
  if (process.env.CI === "true") {
    describe(title, () => {
      test(`needs ${missing}`, () => {
        throw new Error(`${title}: ${missing} is required under CI=true (run tools/install/tools.sh and .ci/run's apt step)`);
      });
    });
    return;
  }
  describe.skip(`${title} (skipped: ${missing} not available)`, body);
}
