// Where the suites, the bench and verify:ga find the binaries of the real services they start.
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

/** The project-local tools folder (tools/install/tools.sh installs here). */
export const toolsBin = resolve(__dirname, "../.tools/bin");

/** Absolute path of an executable from .tools/bin or PATH, or undefined. */
export function findBinary(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [toolsBin, ...extraDirs, ...(process.env.PATH ?? "").split(delimiter)];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}
