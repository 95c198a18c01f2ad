import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort, waitFor } from "../lib/net";

const repo = join(__dirname, "..");

/** `npm run app`'s entry (tools/register.js: esbuild, cached). */
export const devEntry = ["-r", "./tools/register.js", "app/main.ts"];

export interface ServiceProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  base: string;
  /** Spawn to the first /readyz 200, in ms. */
  startMs: number;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * The compliance service as its own process (the dev entry by default, or `args` in `cwd`, e.g. the
 * image's compiled entry) on a free loopback port; resolves once /readyz answers 200.
 */
export async function startServiceProcess(options: {
  dataDir: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, options.args ?? devEntry, {
    cwd: options.cwd ?? repo,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      MAESTRO_DATA_DIR: options.dataDir,
      LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
  try {
    await waitFor(
      "service /readyz",
      async () => {
        if (child.exitCode !== null) throw new Error(`the service exited ${child.exitCode}:\n${stderr}`);
        return (await fetch(`${base}/readyz`)).ok;
      },
      options.timeoutMs ?? 60_000,
      10,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, base, startMs: Number(process.hrtime.bigint() - started) / 1e6, stderr: () => stderr, stop };
}
