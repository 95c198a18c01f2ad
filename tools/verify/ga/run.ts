import { spawn } from "node:child_process";
import { resolve } from "node:path";

/** The repository root (this file lives in tools/verify/ga). */
export const repoRoot = resolve(__dirname, "..", "..", "..");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after timeoutMs), capturing its output. */
export function exec(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout ends its children too
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs} ms)`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, options.timeoutMs ?? 180_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      done({ code: null, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** `npm run -s <script> -- <args>` in the repository. */
export function npmRun(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return exec("npm", ["run", "-s", script, "--", ...args], options);
}

/**
 * The last lines of a command's output, for a FAIL detail: stdout's, then stderr's, where a failing
 * command says why (so the reason is never pushed out by the lines it printed before it). Blank lines skipped.
 */
export function tail(run: Run, lines = 3): string {
  const out = `${run.stdout}\n${run.stderr}`.split("\n").filter((line) => line.trim() !== "");
  return out.slice(-lines).join(" | ") || `exit ${String(run.code)}`;
}
