import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries";
import { freePort, waitFor } from "../lib/net";

/** Debian's prometheus binary, or undefined when it is not installed. */
export const prometheusBinary = findBinary("prometheus");

/** An HTTP target whose /metrics body the test sets (Prometheus text exposition format). */
export interface MetricsTarget {
  /** host:port, as a scrape target. */
  readonly address: string;
  setBody(text: string): void;
  close(): Promise<void>;
}

export async function startMetricsTarget(initialBody = ""): Promise<MetricsTarget> {
  let body = initialBody;
  const server: Server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    setBody: (text) => (body = text),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly dataDir: string;
  /** Instant query; returns the API's data.result. */
  query(expr: string, time?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** host:port targets scraped under job "test". */
  targets?: string[];
  scrapeInterval?: string;
  /** An existing TSDB folder (e.g. made by promtool tsdb create-blocks-from openmetrics). */
  storagePath?: string;
}

/** Starts a real Prometheus on a free loopback port and waits until it is ready. */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<RunningPrometheus> {
  if (!prometheusBinary) throw new Error("prometheus is not installed (apt-get install prometheus)");
  const dir = mkdtempSync(join(tmpdir(), "maestro-prom-"));
  const port = await freePort();
  const interval = options.scrapeInterval ?? "1s";
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    "scrape_configs:",
    "  - job_name: test",
    "    static_configs:",
    `      - targets: [${(options.targets ?? []).map((t) => JSON.stringify(t)).join(", ")}]`,
  ].join("\n");
  writeFileSync(join(dir, "prometheus.yml"), config);
  const dataDir = options.storagePath ?? join(dir, "data");
  const child: ChildProcess = spawn(
    prometheusBinary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=15d",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("prometheus readiness", async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return (await fetch(`${url}/-/ready`)).ok;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    dataDir,
    query: async (expr, time) => {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set("time", String(time));
      const res = await fetch(`${url}/api/v1/query?${params}`);
      const json = (await res.json()) as { status: string; error?: string; data: { result: never[] } };
      if (json.status !== "success") throw new Error(`query failed: ${json.error}`);
      return json.data.result;
    },
    stop,
  };
}
