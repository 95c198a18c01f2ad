import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { devIssuerKeyPath, loadDevIssuerKeys, mintDevToken, type DevTokenRequest } from "../app/auth/dev-issuer";
import { entryHash, genesisHash } from "../app/audit/log";
import { migrate, openDb } from "../app/db";
import type { AuditEntry } from "../app/audit/types";
import { startPostgres, type RunningPostgres, type StartPostgresOptions } from "./postgres";
import { startServiceProcess, type ServiceProcess } from "./service-process";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

/**
 * The compliance service as deployed: N processes of the real entry point on one real Postgres 15,
 * each with its own data dir (pod-local storage), all reaching the database through a TCP relay so
 * a test can cut the network. They share only what pods share: DATABASE_URL, the environment, and
 * an identity provider (the dev issuer's key, copied into each data dir like a mounted JWKS).
 */
export interface Fleet {
  readonly pg: RunningPostgres;
  readonly proxy: TcpProxy;
  /** DATABASE_URL the replicas use (through the relay). */
  readonly databaseUrl: string;
  /** Replica i's current process (replaced by startReplica after a kill). */
  replica(i: number): ServiceProcess;
  readonly size: number;
  /** Every process ever started, killed ones included, for "no replica exited on its own". */
  readonly processes: readonly ServiceProcess[];
  /** A bearer token every replica accepts. */
  token(request: DevTokenRequest): Promise<string>;
  /** kill -9 of replica i; resolves once it is gone. */
  killReplica(i: number): Promise<void>;
  /** Starts replica i again (same data dir, new port, env merged over the fleet's); resolves at its first /readyz 200. */
  startReplica(i: number, env?: Record<string, string>): Promise<ServiceProcess>;
  /** Processes that exited though no test killed them, with their stderr. */
  unexpectedExits(): string[];
  stop(): Promise<void>;
}

export interface StartFleetOptions {
  replicas: number;
  /** Extra environment for every replica (AUDIT_WORM_*, SCIM_SYNC_TOKEN, ...). */
  env?: Record<string, string>;
  postgres?: StartPostgresOptions;
  /** Statements run on the fresh server before any replica starts (roles, say). */
  setupSql?: string[];
  /**
   * The replicas log in as this role (made by setupSql) instead of the owner; the owner applies
   * the migrations first, as a migration Job would in a cluster.
   */
  serviceRole?: string;
}

export async function startFleet(options: StartFleetOptions): Promise<Fleet> {
  const root = mkdtempSync(join(tmpdir(), "maestro-fleet-"));
  const idpDir = join(root, "idp");
  await loadDevIssuerKeys(idpDir); // creates the shared issuer key once
  const pg = await startPostgres(options.postgres);
  for (const sql of options.setupSql ?? []) await pg.query(sql);
  if (options.serviceRole) {
    const owner = await openDb({ databaseUrl: pg.url, dataDir: root });
    await migrate(owner);
    await owner.close();
  }
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: pg.port });
  const databaseUrl = `postgres://${options.serviceRole ?? "postgres"}@127.0.0.1:${proxy.port}/postgres`;
  const current: ServiceProcess[] = [];
  const all: ServiceProcess[] = [];
  const killed = new Set<ServiceProcess>();

  const startReplica = async (i: number, env: Record<string, string> = {}) => {
    const dataDir = join(root, `replica-${i}`);
    const keyPath = devIssuerKeyPath(dataDir);
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 });
    copyFileSync(devIssuerKeyPath(idpDir), keyPath);
    const proc = await startServiceProcess({
      dataDir,
      env: { DATABASE_URL: databaseUrl, ...options.env, ...env },
      timeoutMs: 120_000,
    });
    current[i] = proc;
    all.push(proc);
    return proc;
  };

  try {
    // One at a time: each start migrates, and a cold start on a loaded 2-core machine is slow.
    for (let i = 0; i < options.replicas; i++) await startReplica(i);
  } catch (err) {
    for (const p of all) await p.stop();
    await proxy.close();
    await pg.stop();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  return {
    pg,
    proxy,
    databaseUrl,
    size: options.replicas,
    replica: (i) => current[i],
    get processes() {
      return all;
    },
    token: (request) => mintDevToken(idpDir, request),
    async killReplica(i) {
      const proc = current[i];
      killed.add(proc);
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      const exited = new Promise((r) => proc.child.once("exit", r));
      proc.child.kill("SIGKILL");
      await exited;
    },
    startReplica,
    unexpectedExits: () =>
      all
        .filter((p) => !killed.has(p) && (p.child.exitCode !== null || p.child.signalCode !== null))
        .map((p) => `${p.base} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.stderr().slice(-2000)}`),
    async stop() {
      for (const halt of [...watchers]) halt(); // a test that failed before its watcher's stop()
      for (const p of all) await p.stop();
      await proxy.close();
      await pg.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The log straight from Postgres, in id order. */
export async function auditRows(pg: RunningPostgres): Promise<AuditEntry[]> {
  const rows = await pg.query<{
    id: string;
    at: Date;
    type: string;
    actor: string;
    resource: string | null;
    reason: string | null;
    details: Record<string, unknown>;
    prev_hash: string;
    hash: string;
  }>("select id, at, type, actor, resource, reason, details, prev_hash, hash from audit_log order by id");
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    type: r.type,
    actor: r.actor,
    ...(r.resource !== null ? { resource: r.resource } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  }));
}

/** Where the chain breaks (ids not 1..n, a hash that does not recompute, a link to the wrong predecessor), or undefined. */
export function chainBreak(entries: AuditEntry[]): string | undefined {
  let prev = genesisHash;
  for (const [i, e] of entries.entries()) {
    if (e.id !== i + 1) return `entry ${i + 1} is missing (found id ${e.id} in its place)`;
    if (e.prevHash !== prev) return `entry ${e.id} links to ${e.prevHash.slice(0, 12)}…, its predecessor is ${prev.slice(0, 12)}…`;
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash) return `entry ${e.id}'s hash does not recompute`;
    prev = hash;
  }
  return undefined;
}

/** One request of a burst and what became of it. */
export interface BurstResult {
  /** The x-rfa reason the request carried: unique, so its audit entry can be found. */
  reason: string;
  replica: number;
  /** HTTP status, or 0 when the connection failed (a killed replica). */
  status: number;
  /** What the client saw when there was no status. */
  error?: string;
  ms: number;
}

/**
 * Audited reads (GET /api/compliance/audit?fromId=1&toId=1 with a unique x-rfa reason: each 200 is
 * an acknowledged, durable access.reason event) from `concurrency` clients spread over the replicas,
 * until `until()` says stop. Each request goes to the next replica in turn; a client whose
 * connection failed moves on, as a load balancer would.
 */
export async function auditedReadBurst(
  fleet: Fleet,
  token: string,
  options: { concurrency: number; until: () => boolean; label: string; timeoutMs?: number; alive?: (replica: number) => boolean },
): Promise<BurstResult[]> {
  const results: BurstResult[] = [];
  let n = 0;
  const client = async () => {
    while (!options.until()) {
      const i = n++;
      let replica = i % fleet.size;
      for (let k = 0; k < fleet.size && options.alive && !options.alive(replica); k++) replica = (replica + 1) % fleet.size;
      const reason = `${options.label}-${i}`;
      const started = performance.now();
      try {
        const res = await fetch(`${fleet.replica(replica).base}/api/compliance/audit?fromId=1&toId=1`, {
          headers: { authorization: `Bearer ${token}`, "x-rfa": reason },
          signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
        });
        await res.arrayBuffer();
        results.push({ reason, replica, status: res.status, ms: performance.now() - started });
      } catch (err) {
        results.push({ reason, replica, status: 0, error: (err as Error).message, ms: performance.now() - started });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  return results;
}

/** /readyz of replica i: true on 200, false on 503 or no answer within 3 s. */
export async function isReady(fleet: Fleet, i: number): Promise<boolean> {
  try {
    return (await fetch(`${fleet.replica(i).base}/readyz`, { signal: AbortSignal.timeout(3000) })).ok;
  } catch {
    return false;
  }
}

/** Readiness watchers not stopped yet; fleet.stop() halts them. */
const watchers = new Set<() => void>();

/** Polls /readyz of every replica every 100 ms until stopped; records what each one said. */
export function watchReadiness(fleet: Fleet): { stop(): Promise<Array<{ sawNotReady: boolean; last: boolean }>> } {
  const seen = Array.from({ length: fleet.size }, () => ({ sawNotReady: false, last: true }));
  let stopped = false;
  const halt = () => (stopped = true);
  watchers.add(halt);
  const loops = seen.map(async (s, i) => {
    while (!stopped) {
      const ready = await isReady(fleet, i);
      s.last = ready;
      if (!ready) s.sawNotReady = true;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    async stop() {
      halt();
      watchers.delete(halt);
      await Promise.all(loops);
      return seen;
    },
  };
}
