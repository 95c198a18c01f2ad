import { execFile } from "node:child_process";
import { join } from "node:path";

/** tools/ci/slo_gate.js, the promotion gate the analysis Job runs. */
export const sloGateScript = join(__dirname, "..", "..", "..", "..", "tools", "ci", "slo_gate.js");

export interface GateRun {
  /** Exit status; null when the process was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command as a separate process with only PATH and `env`, as CI and the analysis Job do. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<GateRun> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { PATH: process.env.PATH, ...env }, timeout: 20000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs slo_gate.js with node. */
export function runGate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<GateRun> {
  return runCommand(process.execPath, [sloGateScript, ...args], env);
}
