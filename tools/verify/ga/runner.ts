import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Check, CheckContext, GaReport, Outcome, Result, Status } from "./model";
import { exec, tail } from "./run";

/** A cluster the commands run against, set up by verify:ga itself (local-cluster.ts): the commands' environment. */
export type ClusterSetup = (ctx: CheckContext) => Promise<{ env: Record<string, string> }>;

export interface RunOptions {
  env: string;
  /** Also run the cluster commands against the current kube context. */
  cluster: boolean;
  /**
   * Run them against a cluster this run sets up instead (the local control plane): commands get
   * its environment, and a check that `needs` what it lacks stays NEEDS CLUSTER, saying so.
   */
  clusterSetup?: ClusterSetup;
  /** Per-check time limit; a check that takes longer FAILs. @default 240000 */
  timeoutMs?: number;
  /** Called after each check (progress on stderr). */
  onResult?: (r: Result) => void;
}

function withTimeout(p: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: "FAIL", detail: `did not finish within ${ms / 1000} s` }), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The verdict: FAIL when any check failed; NEEDS CLUSTER never fails the run. */
export function verdictOf(results: Result[]): GaReport["verdict"] {
  return results.some((r) => r.status === "FAIL") ? "FAIL" : "PASS";
}

export function countOf(results: Result[]): Record<Status, number> {
  const counts: Record<Status, number> = { PASS: 0, FAIL: 0, "NEEDS CLUSTER": 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

/**
 * Runs the checklist: each local check here (an exception is a FAIL with its message), each cluster
 * command with --cluster (exit 0 = PASS), or lists it as NEEDS CLUSTER with the command.
 */
export async function runChecklist(checks: Check[], options: RunOptions): Promise<GaReport> {
  const scratch = mkdtempSync(join(tmpdir(), "maestro-verify-ga-"));
  const memo = new Map<string, Promise<unknown>>();
  const closers: Array<() => Promise<void> | void> = [];
  const ctx: CheckContext = {
    env: options.env,
    scratch,
    once: <T>(key: string, make: () => Promise<T>) => {
      if (!memo.has(key)) memo.set(key, make());
      return memo.get(key) as Promise<T>;
    },
    onClose: (fn) => closers.push(fn),
  };
  const results: Result[] = [];
  // Results are recorded (and reported) in checklist order, also those of checks that start early.
  let reported: Promise<void> = Promise.resolve();
  const record = (r: Result | Promise<Result>) => {
    reported = reported.then(async () => {
      const result = await r;
      results.push(result);
      options.onResult?.(result);
    });
  };
  const runLocal = (check: Check & { local: NonNullable<Check["local"]> }) => {
    const started = Date.now();
    return withTimeout(
      check
        .local(ctx)
        .catch((err: unknown) => ({ status: "FAIL" as const, detail: `error: ${err instanceof Error ? err.message : String(err)}` })),
      options.timeoutMs ?? check.localTimeoutMs ?? 240_000,
    ).then((outcome) => ({ outcome, durationMs: Date.now() - started }));
  };
  // Checks that start early run beside the rest from the start; each is reported in its place.
  const early = new Map(checks.filter((c) => c.startsEarly && c.local).map((c) => [c, runLocal(c as Parameters<typeof runLocal>[0])]));
  try {
    for (const check of checks) {
      const base = { id: check.id, section: check.section, title: check.title };
      const startedEarly = early.get(check);
      if (startedEarly && !check.cluster) {
        // Not waited for here: the checks after it run meanwhile.
        record(startedEarly.then(({ outcome, durationMs }) => ({ ...base, ...outcome, durationMs })));
        continue;
      }
      if (check.local) {
        const { outcome, durationMs } = await (startedEarly ?? runLocal(check as Parameters<typeof runLocal>[0]));
        record({ ...base, ...outcome, durationMs });
      }
      if (check.cluster) {
        const id = check.local ? `${check.id}.cluster` : check.id;
        const pending = (detail: string) => record({ ...base, id, status: "NEEDS CLUSTER", detail, command: check.cluster, durationMs: 0 });
        if (!options.cluster && !options.clusterSetup) {
          pending("runs against a cluster (--cluster)");
          continue;
        }
        if (options.clusterSetup && check.needs) {
          pending(`needs ${check.needs}, which the local control plane does not have`);
          continue;
        }
        const started = Date.now();
        let env: Record<string, string> = {};
        if (options.clusterSetup) {
          try {
            // Once per run: every cluster command shares the one set-up.
            const setup = options.clusterSetup;
            env = (await ctx.once("cluster-setup", () => setup(ctx))).env;
          } catch (err) {
            record({
              ...base,
              id,
              status: "FAIL",
              detail: `the local control plane did not come up: ${err instanceof Error ? err.message : String(err)}`,
              command: check.cluster,
              durationMs: Date.now() - started,
            });
            continue;
          }
        }
        const run = await exec("bash", ["-o", "pipefail", "-c", check.cluster], { env, timeoutMs: options.timeoutMs ?? 240_000 });
        const how = options.clusterSetup && check.onLocalCluster ? ` [local control plane: ${check.onLocalCluster}]` : "";
        record({
          ...base,
          id,
          status: run.code === 0 ? "PASS" : "FAIL",
          detail:
            (run.code === 0
              ? (run.stdout.trim().split("\n").pop() ?? "").slice(0, 300) || "exit 0"
              : `exit ${String(run.code)}: ${tail(run)}`) + how,
          command: check.cluster,
          durationMs: Date.now() - started,
        });
      }
    }
    await reported;
  } finally {
    // An early check still running (the loop ended with an error) ends before what it uses is closed.
    await Promise.allSettled(early.values());
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        /* a server that is already gone */
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    env: options.env,
    cluster: options.clusterSetup ? "local" : options.cluster,
    verdict: verdictOf(results),
    counts: countOf(results),
    results,
  };
}
