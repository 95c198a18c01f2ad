import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../app/auth/dev-issuer";
import { freePort, waitFor } from "../../__tests__/support/net";
import { cleanVerdicts, hoursAgo, writeEvidence } from "../../__tests__/compliance/fixtures";
import { measureAsync, measureCommand, median, ms, ratio, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

interface CannonResult {
  latency: { p99: number; p50: number; average: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<CannonResult>;

/** `npm run app`'s entry (tools/register.js: esbuild, cached), or the image's compiled entry. */
const tsEntry = ["-r", "./tools/register.js", "app/main.ts"];

/** Starts the service on a free port; resolves once /healthz answers, with the time it took. */
async function startService(dataDir: string, args = tsEntry, cwd = root): Promise<{ child: ChildProcess; base: string; startMs: number }> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", MAESTRO_DATA_DIR: dataDir, LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor("service /healthz", async () => (await fetch(`${base}/healthz`)).ok, 60_000, 10);
  return { child, base, startMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

export const suite: BenchSuite = {
  title: "Compliance service",
  async run() {
    const autocannon = require("autocannon") as Autocannon;
    const dataDir = mkdtempSync(join(tmpdir(), "maestro-bench-service-"));
    writeEvidence(dataDir, {
      verdicts: cleanVerdicts(),
      backup: { finishedAt: hoursAgo(2).toISOString(), backup: "base_bench" },
      drill: { finishedAt: hoursAgo(48).toISOString(), result: "pass" },
    });
    try {
      // First start creates the embedded database; the cold starts below reuse it, as a restart does.
      let service = await startService(dataDir);
      await stop(service.child);
      const starts: number[] = [];
      for (let i = 0; i < 5; i++) {
        service = await startService(dataDir);
        starts.push(service.startMs);
        if (i < 4) await stop(service.child);
      }
      // The image's form: app/ compiled by app/tsconfig.build.json (as the Dockerfile does), run with plain node.
      const imageDir = join(root, ".data", `bench-image-${process.pid}`);
      const tsc = spawnSync(
        process.execPath,
        [require.resolve("typescript/bin/tsc"), "-p", "app/tsconfig.build.json", "--outDir", imageDir],
        {
          cwd: root,
          encoding: "utf8",
        },
      );
      // Type errors elsewhere still emit; only a missing entry stops the row.
      if (!existsSync(join(imageDir, "app", "main.js")))
        throw new Error(`tsc -p app/tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
      cpSync(join(root, "app", "db", "migrations"), join(imageDir, "app", "db", "migrations"), { recursive: true });
      const compiledStarts: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const s = await startService(dataDir, ["app/main.js"], imageDir);
          compiledStarts.push(s.startMs);
          await stop(s.child);
        }
      } finally {
        rmSync(imageDir, { recursive: true, force: true });
      }
      const nodeBare = measureCommand(process.execPath, ["-e", ""], { runs: 5 });
      const token = await mintDevToken(dataDir, { subject: "bench", groups: ["viewers"] });
      const auth = { authorization: `Bearer ${token}` };
      const load = (path: string, headers: Record<string, string> = {}) =>
        autocannon({ url: `${service.base}${path}`, connections: 10, duration: 10, overallRate: 200, headers });
      await load("/api/compliance/controls", auth); // warm-up: JIT, evidence cache
      const health = await load("/healthz");
      const controls = await load("/api/compliance/controls", auth);
      if (controls.non2xx > 0 || controls.errors > 0)
        throw new Error(`controls load test: ${controls.non2xx} non-2xx, ${controls.errors} errors`);
      const exportOf = (format: string) => async () => {
        const res = await fetch(`${service.base}/api/compliance/export?format=${format}`, { headers: auth });
        if (!res.ok) throw new Error(`export ${format}: ${res.status}`);
        await res.arrayBuffer();
      };
      const pdf = await measureAsync(exportOf("pdf"), { runs: 15, warmup: 2 });
      const json = await measureAsync(exportOf("json"), { runs: 15, warmup: 2 });
      await stop(service.child);
      const coldStart = median(starts);
      return [
        {
          name: "GET /api/compliance/controls at 200 req/s (10 s, 10 connections), p99",
          subject: "authenticated, 8 controls with evidence (autocannon)",
          value: `${controls.latency.p99} ms (${controls.requests.average.toFixed(0)} req/s)`,
          baseline: "GET /healthz at the same rate",
          baselineValue: `${health.latency.p99} ms`,
          ratio: ratio(Math.max(controls.latency.p99, 0.5), Math.max(health.latency.p99, 0.5)),
          target: "≤ 20 ms",
          met: controls.latency.p99 <= 20,
        },
        {
          name: "PDF export of all controls",
          subject: "GET /api/compliance/export?format=pdf (pdfkit)",
          value: ms(pdf.medianMs),
          baseline: "format=json",
          baselineValue: ms(json.medianMs),
          ratio: ratio(pdf.medianMs, json.medianMs),
          target: "≤ 1 s",
          met: pdf.medianMs <= 1000,
        },
        {
          name: "service cold start (to /healthz 200, existing data dir)",
          subject: "image entry: node app/main.js (tsc build)",
          value: ms(median(compiledStarts)),
          baseline: "node -e ''",
          baselineValue: ms(nodeBare.medianMs),
          ratio: ratio(median(compiledStarts), nodeBare.medianMs),
          target: "≤ 1 s",
          met: median(compiledStarts) <= 1000,
        },
        {
          name: "service cold start, development entry",
          subject: "npm run app's node -r ./tools/register.js app/main.ts",
          value: ms(coldStart),
          baseline: "node -e ''",
          baselineValue: ms(nodeBare.medianMs),
          ratio: ratio(coldStart, nodeBare.medianMs),
        },
      ];
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
