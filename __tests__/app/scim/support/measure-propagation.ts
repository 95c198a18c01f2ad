// Measures IdP change → role in force, end to end, with a real cron schedule:
//   node -r ./tools/register.js __tests__/app/scim/support/measure-propagation.ts [--interval MIN] [--samples N]
// A scimmy SCIM server and the compliance service (PGlite, listening on loopback) run here; the
// sync is the CronJob's own command (`app/scim/cli.ts --push`), started at every `*/MIN` tick as
// the CronJob controller would. Each sample changes a group at a random moment, then polls
// GET /api/compliance/audit as the user until it answers 200 (grant) or 403 (revoke).
// Not measured here: pod scheduling and image start in a real cluster (add them to the result).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { CronExpressionParser } from "cron-parser";
import { buildService } from "../../../../app/server";
import { readServiceSettings } from "../../../../app/settings";
import { mintDevToken } from "../../../../app/auth/dev-issuer";
import { scimSchedule } from "../../../../constructs/gateway/scim-sync";
import { freePort } from "../../../../lib/net";
import { startScimServer } from "../../../../harness/scim-server";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    const v = i >= 0 ? Number(args[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 1) {
      process.stderr.write(`${name} must be a positive integer\n`);
      process.exit(2);
    }
    return v;
  };
  const interval = flag("--interval", 2);
  const samples = flag("--samples", 3);
  const schedule = scimSchedule(interval);
  const dir = mkdtempSync(join(tmpdir(), "maestro-propagation-"));
  const scimToken = "scim-api-token-for-measurement-0123456789";
  const syncToken = "sync-token-for-measurement-0123456789abcdef";
  const scim = await startScimServer(await freePort(), scimToken);
  scim.addUser("u-alice", "alice");
  for (let i = 0; i < 200; i++) scim.addUser(`u-${i}`, `user-${i}`);
  scim.addGroup("g-auditors", "auditors", []);
  const service = await buildService(
    readServiceSettings({ MAESTRO_DATA_DIR: dir, AUTHZ_ROLE_SOURCE: "directory", SCIM_SYNC_TOKEN: syncToken }),
    { logger: false },
  );
  await service.server.listen({ port: 0, host: "127.0.0.1" });
  const address = service.server.server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const token = await mintDevToken(dir, { subject: "alice", groups: [] });

  let stopped = false;
  const runs: number[] = [];
  // The CronJob controller: one run per tick, Forbid (skip a tick while a run is active).
  const cron = (async () => {
    let running = false;
    while (!stopped) {
      const next = CronExpressionParser.parse(schedule).next().getTime();
      while (!stopped && Date.now() < next) await sleep(Math.min(500, next - Date.now()));
      if (stopped || running) continue;
      running = true;
      const started = Date.now();
      await promisify(execFile)("node", ["-r", "./tools/register.js", "app/scim/cli.ts", "--push", `${base}/api/scim/sync`], {
        cwd: resolve(__dirname, "..", "..", "..", ".."),
        env: { PATH: process.env.PATH, SCIM_ENDPOINT: scim.endpoint, SCIM_TOKEN: scimToken, SCIM_SYNC_TOKEN: syncToken },
      }).catch((err: Error) => process.stderr.write(`sync run failed: ${err.message}\n`));
      runs.push(Date.now() - started);
      running = false;
    }
  })();

  const results: number[] = [];
  for (let s = 0; s < samples; s++) {
    await sleep(Math.floor(Math.random() * interval * 60_000)); // change at a random point of the cycle
    const grant = s % 2 === 0;
    scim.setMembers("g-auditors", grant ? ["u-alice"] : []);
    const changed = Date.now();
    const want = grant ? 200 : 403;
    for (;;) {
      const res = await fetch(`${base}/api/compliance/audit?limit=1`, {
        headers: { authorization: `Bearer ${token}`, "x-rfa": "propagation measurement" },
      });
      if (res.status === want) break;
      if (Date.now() - changed > (interval + 2) * 60_000) throw new Error(`no propagation within ${interval + 2} minutes`);
      await sleep(250);
    }
    results.push(Date.now() - changed);
    process.stdout.write(`sample ${s + 1}: ${grant ? "grant" : "revoke"} in force after ${((Date.now() - changed) / 1000).toFixed(1)} s\n`);
  }
  stopped = true;
  await cron;
  const max = Math.max(...results);
  process.stdout.write(
    `${JSON.stringify({ schedule, samples: results.length, propagationSeconds: results.map((r) => +(r / 1000).toFixed(1)), maxSeconds: +(max / 1000).toFixed(1), syncRunSeconds: runs.map((r) => +(r / 1000).toFixed(1)), boundSeconds: interval * 60 + Math.max(...runs) / 1000 })}\n`,
  );
  await service.close();
  await scim.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
