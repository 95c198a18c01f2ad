import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync } from "node:fs";
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
 * app/ compiled by app/tsconfig.build.json into `dir` (inside the checkout, so node_modules
 * resolves), with its migrations, as the Dockerfile's build stage does: the entry the image runs.
 * Returns its args for `startServiceProcess({ args, cwd: dir })`.
 */
export function buildCompiledEntry(dir: string): string[] {
  const tsc = spawnSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "app/tsconfig.build.json", "--outDir", dir], {
    cwd: repo,
    encoding: "utf8",
  });
  // Type errors elsewhere still emit; only a missing entry stops it.
  if (!existsSync(join(dir, "app", "main.js"))) throw new Error(`tsc -p app/tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
  cpSync(join(repo, "app", "db", "migrations"), join(dir, "app", "db", "migrations"), { recursive: true });
  return ["app/main.js"];
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
