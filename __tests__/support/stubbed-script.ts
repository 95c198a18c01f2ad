// Runs one of the project's bash scripts against stand-in commands: `dir` holds them (first on
// PATH) and is STUB_DIR to them; each stand-in appends its arguments to STUB_DIR/calls, one line
// per call, which the run returns. Used by the runbook scripts' suites (tools/verify/*.sh).
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface StubbedRun {
  code: number;
  stdout: string;
  stderr: string;
  /** What the stand-ins were called with, in order. */
  calls: string[];
}

export function runStubbed(script: string, args: string[], dir: string, env: Record<string, string> = {}): Promise<StubbedRun> {
  writeFileSync(join(dir, "calls"), "");
  return new Promise((done) => {
    execFile(
      "bash",
      [script, ...args],
      { env: { PATH: `${dir}:${process.env.PATH}`, STUB_DIR: dir, ...env }, timeout: 20000 },
      (error, stdout, stderr) => {
        const calls = readFileSync(join(dir, "calls"), "utf8").split("\n").filter(Boolean);
        done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr, calls });
      },
    );
  });
}
