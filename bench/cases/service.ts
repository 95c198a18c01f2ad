import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../app/auth/dev-issuer";
import { findBinary } from "../../harness/binaries";
import { startPostgres } from "../../harness/postgres";
import { buildCompiledEntry, startServiceProcess } from "../../harness/service-process";
import { backupRecord, cleanVerdicts, drillRecord, hoursAgo, writeEvidence } from "../../harness/evidence";
import { measureAsync, measureCommand, median, ms, ratio, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

interface WrkResult {
  requests: number;
  durationUs: number;
  non2xx: number;
  errors: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

/**
 * A fixed-rate load from wrk (a C load generator: its own latency floor here is ~3 ms at p99,
 * against ~8 ms for a Node one on the same two cores) with bench/wrk-paced.lua.
 */
function wrkAt(url: string, options: { rps: number; connections: number; seconds: number; token?: string }): WrkResult {
  const wrk = findBinary("wrk");
  if (!wrk) throw new Error("wrk is not installed: npm run setup installs it (Debian package wrk)");
  // wrk waits the pace after each response, so a connection's cycle is pace + latency (~1 ms).
  const pace = Math.round((options.connections * 1000) / options.rps) - 1;
  const run = spawnSync(
    wrk,
    ["-t1", `-c${options.connections}`, `-d${options.seconds}s`, "-s", join(__dirname, "..", "wrk-paced.lua"), url],
    { encoding: "utf8", env: { ...process.env, WRK_PACE_MS: String(pace), WRK_TOKEN: options.token ?? "" } },
  );
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  if (run.status !== 0 || !line) throw new Error(`wrk ${url} failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
  return JSON.parse(line) as WrkResult;
}

export const suite: BenchSuite = {
  title: "Compliance service",
  async run() {
    const dataDir = mkdtempSync(join(tmpdir(), "maestro-bench-service-"));
    writeEvidence(dataDir, {
      verdicts: cleanVerdicts(),
      backup: backupRecord(hoursAgo(2), "base_bench"),
      drill: drillRecord(hoursAgo(48), "pass"),
    });
    const imageDir = join(root, ".data", `bench-image-${process.pid}`);
    const postgres = await startPostgres();
    try {
      // First start creates the embedded database; the cold starts below reuse it, as a restart does.
      let service = await startServiceProcess({ dataDir });
      await service.stop();
      const devStarts: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = await startServiceProcess({ dataDir });
        devStarts.push(s.startMs);
        await s.stop();
      }
      const image = buildCompiledEntry(imageDir);
      const embeddedStarts: number[] = [];
      const postgresStarts: number[] = [];
      const production = { DATABASE_URL: postgres.url };
      await (await startServiceProcess({ dataDir, args: image, cwd: imageDir, env: production })).stop(); // migrations
      for (let i = 0; i < 5; i++) {
        const embedded = await startServiceProcess({ dataDir, args: image, cwd: imageDir });
        embeddedStarts.push(embedded.startMs);
        await embedded.stop();
        const withPostgres = await startServiceProcess({ dataDir, args: image, cwd: imageDir, env: production });
        postgresStarts.push(withPostgres.startMs);
        await withPostgres.stop();
      }
      const nodeBare = measureCommand(process.execPath, ["-e", ""], { runs: 5 });

      service = await startServiceProcess({ dataDir });
      const token = await mintDevToken(dataDir, { subject: "bench", groups: ["viewers"] });
      const load = { rps: 200, connections: 10, seconds: 10 };
      wrkAt(`${service.base}/api/compliance/controls`, { ...load, seconds: 3, token }); // warm-up: JIT, evidence
      const health = wrkAt(`${service.base}/healthz`, load);
      const controls = wrkAt(`${service.base}/api/compliance/controls`, { ...load, token });
      if (controls.non2xx > 0 || controls.errors > 0)
        throw new Error(`controls load test: ${controls.non2xx} non-2xx, ${controls.errors} errors`);
      const auth = { authorization: `Bearer ${token}` };
      const exportOf = (format: string) => async () => {
        const res = await fetch(`${service.base}/api/compliance/export?format=${format}`, { headers: auth });
        if (!res.ok) throw new Error(`export ${format}: ${res.status}`);
        await res.arrayBuffer();
      };
      const pdf = await measureAsync(exportOf("pdf"), { runs: 15, warmup: 2 });
      const json = await measureAsync(exportOf("json"), { runs: 15, warmup: 2 });
      await service.stop();
      const p99 = controls.p99Us / 1000;
      const rate = controls.requests / (controls.durationUs / 1e6);
      return [
        {
          name: "GET /api/compliance/controls at 200 req/s (10 s, 10 connections), p99",
          subject: "authenticated, 8 controls with evidence (wrk, fixed rate)",
          value: `${ms(p99)} (${rate.toFixed(0)} req/s)`,
          baseline: "GET /healthz at the same rate",
          baselineValue: ms(health.p99Us / 1000),
          ratio: ratio(p99, health.p99Us / 1000),
          target: "≤ 20 ms",
          met: p99 <= 20,
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
          name: "service cold start, the image as deployed (to /readyz 200)",
          subject: "node app/main.js (tsc build) with DATABASE_URL (Postgres 15)",
          value: ms(median(postgresStarts)),
          baseline: "node -e ''",
          baselineValue: ms(nodeBare.medianMs),
          ratio: ratio(median(postgresStarts), nodeBare.medianMs),
          target: "≤ 1 s",
          met: median(postgresStarts) <= 1000,
        },
        {
          name: "service cold start, embedded database (to /readyz 200, existing data dir)",
          subject: "node app/main.js (tsc build), PGlite",
          value: ms(median(embeddedStarts)),
          baseline: "node -e ''",
          baselineValue: ms(nodeBare.medianMs),
          ratio: ratio(median(embeddedStarts), nodeBare.medianMs),
        },
        {
          name: "service cold start, development entry",
          subject: "npm run app's node -r ./tools/register.js app/main.ts, PGlite",
          value: ms(median(devStarts)),
          baseline: "node -e ''",
          baselineValue: ms(nodeBare.medianMs),
          ratio: ratio(median(devStarts), nodeBare.medianMs),
        },
      ];
    } finally {
      await postgres.stop();
      rmSync(imageDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
