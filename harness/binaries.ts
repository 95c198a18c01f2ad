// Where the suites, the bench and verify:ga find the binaries of the real services they start.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, delimiter, dirname, join, resolve } from "node:path";

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

/**
 * The program a pyenv shim stands for (`pyenv which`), or the path itself. A shim is a bash script
 * that runs pyenv to find the program on every call: ~0.1 s of CPU each time, which a suite that
 * runs the AWS CLI ~80 times pays ~80 times.
 */
export function unshimmed(path: string): string {
  if (!/\/\.pyenv\/shims\/[^/]+$/.test(path)) return path;
  try {
    const real = execFileSync("pyenv", ["which", basename(path)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return real && existsSync(real) ? real : path;
  } catch {
    return path;
  }
}

/** PATH with the folder of this program first, so scripts that name it run it without a shim. */
export function pathFirst(program: string): string {
  return `${dirname(program)}${delimiter}${process.env.PATH ?? ""}`;
}
