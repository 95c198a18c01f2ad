import { spawnSync } from "node:child_process";

/** One row of docs/BENCHMARKS.md: a measurement against a baseline taken in the same run. */
export interface BenchRow {
  /** What is measured, e.g. "synth, 6 stacks (staging)". */
  name: string;
  /** How this project does it, e.g. "npm run synth". */
  subject: string;
  /** Median of the subject, with its unit. */
  value: string;
  /** The baseline and its median, when there is one. */
  baseline?: string;
  baselineValue?: string;
  /** subject / baseline (lower is better for times), e.g. "0.08×". */
  ratio?: string;
  /** The target from the issue, and whether it is met. */
  target?: string;
  met?: boolean;
}

/** A group of rows: one file in bench/cases/ exports one suite. */
export interface BenchSuite {
  title: string;
  run(): Promise<BenchRow[]>;
}

export interface CommandStats {
  medianMs: number;
  minMs: number;
  /** Largest peak RSS over the runs, in MB (GNU time's %M). */
  peakRssMb: number;
  /** Median CPU time (user + system, GNU time's %U + %S) in ms: steadier than wall time on a busy machine. */
  cpuMs: number;
  runs: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs a command `runs` times under GNU time; fails loudly if any run fails. */
export function measureCommand(
  command: string,
  args: string[],
  options: { runs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CommandStats {
  const runs = options.runs ?? 5;
  const times: number[] = [];
  const cpu: number[] = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync("/usr/bin/time", ["-f", "MAXRSS_KB=%M CPU_S=%U+%S", command, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr.slice(-2000)}`);
    const rss = /MAXRSS_KB=(\d+)/.exec(result.stderr);
    peak = Math.max(peak, rss ? Number(rss[1]) / 1024 : 0);
    const used = /CPU_S=([\d.]+)\+([\d.]+)/.exec(result.stderr);
    if (used) cpu.push((Number(used[1]) + Number(used[2])) * 1000);
    times.push(elapsed);
  }
  return { medianMs: median(times), minMs: Math.min(...times), peakRssMb: peak, cpuMs: cpu.length ? median(cpu) : NaN, runs };
}

/** Medians of an in-process async operation, after warm-up runs. */
export async function measureAsync(
  fn: () => Promise<unknown>,
  options: { runs?: number; warmup?: number } = {},
): Promise<{ medianMs: number; p99Ms: number; runs: number }> {
  const runs = options.runs ?? 20;
  for (let i = 0; i < (options.warmup ?? 3); i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: median(times), p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)], runs };
}

export const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
export const mb = (v: number) => `${v.toFixed(0)} MB`;
export const ratio = (subject: number, baseline: number) => `${(subject / baseline).toFixed(2)}×`;
