import { spawn } from "node:child_process";
import { join } from "node:path";
import { findBinary } from "../../harness/binaries";
import { auditRows, chainBreak, isReady, startFleet, type Fleet } from "../../harness/replicas";
import { ms, ratio, type BenchRow, type BenchSuite } from "../harness";

const seconds = 10;
const connections = 32;

interface WrkResult {
  requests: number;
  durationUs: number;
  non2xx: number;
  errors: number;
  p99Us: number;
}

/** wrk at full speed (bench/wrk-paced.lua with no pace) on audited reads: each 200 is one committed audit event. */
function wrkMax(base: string, token: string, conns: number): Promise<WrkResult> {
  const wrk = findBinary("wrk");
  if (!wrk) throw new Error("wrk is not installed: npm run setup installs it (Debian package wrk)");
  const args = ["-t1", `-c${conns}`, `-d${seconds}s`, "-H", "x-rfa: bench replicas", "-s", join(__dirname, "..", "wrk-paced.lua")];
  const child = spawn(wrk, [...args, `${base}/api/compliance/audit?fromId=1&toId=1`], {
    env: { ...process.env, WRK_PACE_MS: "0", WRK_TOKEN: token },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) reject(new Error(`wrk ${base} failed (exit ${code}):\n${out}`));
      else resolve(JSON.parse(line) as WrkResult);
    }),
  );
}

const accessEvents = async (fleet: Fleet) =>
  Number((await fleet.pg.query<{ n: string }>("select count(*) as n from audit_log where type = 'access.reason'"))[0].n);

/** Runs wrk against each base at once; returns acknowledged events/s, their p99, and checks each one is in the log. */
async function measure(fleet: Fleet, bases: string[], token: string): Promise<{ rate: number; p99Ms: number }> {
  const before = await accessEvents(fleet);
  const runs = await Promise.all(bases.map((b) => wrkMax(b, token, Math.round(connections / bases.length))));
  const acknowledged = runs.reduce((n, r) => n + r.requests - r.non2xx - r.errors, 0);
  const failures = runs.reduce((n, r) => n + r.non2xx + r.errors, 0);
  if (failures > 0) throw new Error(`${failures} audited reads failed during the load`);
  // Durable: every acknowledged read's event is committed (wrk may cut a few in flight at the end).
  const stored = (await accessEvents(fleet)) - before;
  if (stored < acknowledged) throw new Error(`${acknowledged} reads acknowledged but only ${stored} events in the log`);
  const durationS = Math.max(...runs.map((r) => r.durationUs)) / 1e6;
  return { rate: acknowledged / durationS, p99Ms: Math.max(...runs.map((r) => r.p99Us)) / 1000 };
}

export const suite: BenchSuite = {
  title: "Compliance service as replicas on one Postgres",
  async run() {
    const rows: BenchRow[] = [];
    const fleet = await startFleet({ replicas: 2 });
    try {
      const token = await fleet.token({ subject: "bench", groups: ["auditors"] });
      // Warm both replicas (token cache, JIT, pool connections).
      await measureWarmup(fleet, token);
      const one = await measure(fleet, [fleet.replica(0).base], token);
      const two = await measure(fleet, [fleet.replica(0).base, fleet.replica(1).base], token);
      const broken = chainBreak(await auditRows(fleet.pg));
      if (broken) throw new Error(`the chain is broken after the load: ${broken}`);
      rows.push({
        name: `acknowledged durable audit events/s, 2 replicas (${connections} connections, ${seconds} s)`,
        subject: "audited reads (x-rfa → access.reason event committed before the 200), group commit under the chain lock",
        value: `${two.rate.toFixed(0)} events/s`,
        baseline: "1 replica, same Postgres, same load",
        baselineValue: `${one.rate.toFixed(0)} events/s`,
        ratio: ratio(two.rate, one.rate),
        target: "≥ 1000/s",
        met: two.rate >= 1000,
      });
      rows.push({
        name: "audited read p99 under that load, 2 replicas",
        subject: "wrk latency of the audited read (append included)",
        value: ms(two.p99Ms),
        baseline: "1 replica (as above)",
        baselineValue: ms(one.p99Ms),
        ratio: ratio(two.p99Ms, one.p99Ms),
      });

      // Failover: pg_ctl -m fast stop + start, then until both replicas answer /readyz 200.
      const started = performance.now();
      await fleet.pg.restartFast();
      const postgresBack = performance.now() - started;
      while (!((await isReady(fleet, 0)) && (await isReady(fleet, 1)))) await new Promise((r) => setTimeout(r, 20));
      const recovered = performance.now() - started;
      if (fleet.unexpectedExits().length > 0) throw new Error(fleet.unexpectedExits().join("\n"));
      rows.push({
        name: "failover recovery: Postgres restarted (pg_ctl -m fast) → both replicas ready",
        subject: "pool reconnect, /readyz ping",
        value: ms(recovered),
        baseline: "Postgres' own stop + start (pg_ctl -w)",
        baselineValue: ms(postgresBack),
        ratio: ratio(recovered, postgresBack),
      });
    } finally {
      await fleet.stop();
    }
    return rows;
  },
};

async function measureWarmup(fleet: Fleet, token: string): Promise<void> {
  for (let i = 0; i < 50; i++)
    for (let r = 0; r < fleet.size; r++) {
      const res = await fetch(`${fleet.replica(r).base}/api/compliance/audit?fromId=1&toId=1`, {
        headers: { authorization: `Bearer ${token}`, "x-rfa": "bench warm-up" },
      });
      if (res.status !== 200) throw new Error(`warm-up read answered ${res.status}`);
    }
}
