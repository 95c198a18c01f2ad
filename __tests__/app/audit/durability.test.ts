import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDb, type Db } from "../../../app/db";
import { createAuditLog, entryHash, genesisHash } from "../../../app/audit/log";
import { describeWithService } from "../../support/services";
import { waitFor } from "../../../lib/net";
import { postgresBinDir, postgresMissing, serverUser, startPostgres, type RunningPostgres } from "../../../harness/postgres";

const root = join(__dirname, "..", "..", "..");
const writer = join(__dirname, "..", "..", "..", "harness", "audit-writer.ts");

/** Runs the writer until it has acknowledged at least `acks` appends, then kill -9s it; returns the acknowledged ids. */
async function burstAndKill(env: NodeJS.ProcessEnv, acks: number): Promise<Set<number>> {
  const child = spawn(process.execPath, ["-r", join(root, "tools", "register.js"), writer], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked = new Set<number>();
  let stderr = "";
  let buffered = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith("ack ")) acked.add(Number(line.slice(4)));
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  await waitFor(
    `${acks} acknowledged appends`,
    async () => {
      if (child.exitCode !== null) throw new Error(`writer exited early: ${stderr}`);
      return acked.size >= acks;
    },
    120_000,
    20,
  );
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  return acked;
}

/** Every acknowledged id is present, ids are 1..n, and each hash and link recomputes. */
async function verifyAfterCrash(db: Db, acked: Set<number>): Promise<number> {
  const audit = createAuditLog(db);
  const entries = await audit.list({ limit: 1_000_000 });
  const ids = new Set(entries.map((e) => e.id));
  const lost = [...acked].filter((id) => !ids.has(id));
  expect(lost).toEqual([]);
  let prev = genesisHash;
  entries.forEach((e, i) => {
    expect(e.id).toBe(i + 1);
    const { hash, ...rest } = e;
    expect(e.prevHash).toBe(prev);
    expect(entryHash(rest)).toBe(hash);
    prev = hash;
  });
  // The log goes on from where the crash left it.
  const next = await audit.append({ type: "test.after-crash", actor: "tester" });
  expect(next.id).toBe(entries.length + 1);
  expect(next.prevHash).toBe(prev);
  return entries.length;
}

describe("audit appends survive kill -9 of the writer (embedded PGlite)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "maestro-durability-pglite-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("every acknowledged id is present after restart and the chain verifies", async () => {
    const acked = await burstAndKill({ MAESTRO_DATA_DIR: dir }, 150);
    const db = await openDb({ dataDir: dir });
    try {
      await migrate(db);
      const stored = await verifyAfterCrash(db, acked);
      expect(stored).toBeGreaterThanOrEqual(acked.size);
    } finally {
      await db.close();
    }
  }, 240_000);
});

describeWithService("audit appends survive kill -9 of the writer (Postgres 15 server, fsync on)", postgresMissing, () => {
  let pg: RunningPostgres;
  beforeAll(async () => {
    pg = await startPostgres({ settings: { fsync: "on", synchronous_commit: "on" }, keepDir: true });
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
    if (pg) rmSync(pg.dir, { recursive: true, force: true });
  });

  test("every acknowledged id is present after the writer and the server crash, and the chain verifies", async () => {
    const acked = await burstAndKill({ DATABASE_URL: pg.url }, 150);
    // An immediate stop is an unclean shutdown too: the server recovers from its WAL on start.
    await pg.stop();
    execFileSync(join(postgresBinDir, "pg_ctl"), ["-D", pg.dataDir, "-l", join(pg.dir, "restart.log"), "-w", "-t", "30", "start"], {
      ...(serverUser ?? {}),
      env: { ...process.env, LC_ALL: "C" },
    });
    const db = await openDb({ databaseUrl: pg.url, dataDir: pg.dir });
    try {
      await verifyAfterCrash(db, acked);
    } finally {
      await db.close();
      execFileSync(join(postgresBinDir, "pg_ctl"), ["-D", pg.dataDir, "-m", "immediate", "-w", "stop"], { ...(serverUser ?? {}) });
    }
  }, 240_000);
});
