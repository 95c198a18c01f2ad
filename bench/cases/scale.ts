import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadUnsignedBundle, shippedBundlePath } from "../../policy-engine/bundle";
import { normalizeStack, policyParameters, type TerraformJson } from "../../policy-engine/input";
import type { EnvironmentConfig } from "../../config/schema";
import { stackIds } from "../../stacks";
import { run as synthDiff } from "../../tools/ci/synth-diff/main";
import type { SynthDiff } from "../../tools/ci/synth-diff/model";
import { synthAll } from "../../harness/synth";
import { measureAsync, measureCommand, mb, median, ms, ratio, type BenchRow, type BenchSuite } from "../harness";
import { scaledStaging } from "../scale/config";

const root = join(__dirname, "..", "..");
const factors = [1, 10, 50] as const;

async function writeSynth(config: EnvironmentConfig, dir: string): Promise<void> {
  const stacks = await synthAll(config);
  for (const id of stackIds) {
    mkdirSync(join(dir, "stacks", id), { recursive: true });
    writeFileSync(join(dir, "stacks", id, "cdk.tf.json"), JSON.stringify(stacks[id], null, 2));
  }
}

/** Median CPU time (user + system of this process) of `fn` over `runs`, after `warmup` runs. */
async function medianCpuMs(fn: () => Promise<unknown>, runs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  return median(times);
}

/** The PR diff of one allow rule gaining a method, at `factor`: what a reviewer reads. */
async function oneRuleDiff(factor: number, dir: string): Promise<{ resources: number; fields: number; securityRows: number; ms: number }> {
  const rule = 7 * (factor - 1); // the first rule of the last copy (gateway-<n> → compliance-<n>)
  await writeSynth(scaledStaging(factor), join(dir, `base-${factor}`));
  await writeSynth(
    scaledStaging(factor, (input) => {
      input.mesh.allow[rule].methods = [...(input.mesh.allow[rule].methods ?? []), "PATCH"];
    }),
    join(dir, `head-${factor}`),
  );
  const args = [join(dir, `base-${factor}`), join(dir, `head-${factor}`), "--policy", "off"];
  const start = process.hrtime.bigint();
  const markdown = await synthDiff(args);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  const json = await synthDiff([...args, "--format", "json"]);
  if (markdown.code !== 0 || json.code !== 0) throw new Error(`synth-diff failed: ${markdown.stderr}${json.stderr}`);
  const diff = JSON.parse(json.stdout) as SynthDiff;
  const changed = diff.stacks.flatMap((s) => s.resources);
  const table = markdown.stdout.split("#### ⚠ Security-relevant changes")[1]?.split("\n\n")[1] ?? "";
  return {
    resources: changed.length,
    fields: changed.reduce((n, r) => n + r.fields.length, 0),
    securityRows: table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| touches") && !l.startsWith("| ---")).length,
    ms: elapsed,
  };
}

// The service graph grows with the company: the staging config with 10× and 50× its mesh services
// and allow rules (bench/scale/config.ts), against staging itself measured in the same run.
export const suite: BenchSuite = {
  title: "Scale (staging's mesh graph × 10 and × 50)",
  async run() {
    const dir = mkdtempSync(join(tmpdir(), "maestro-bench-scale-"));
    try {
      const synth = new Map<number, ReturnType<typeof measureCommand>>();
      for (const factor of factors) {
        const args = ["-r", "./tools/register.js", "bench/scale/synth.ts", String(factor)];
        const env = { CDKTF_OUTDIR: join(dir, `out-${factor}`) };
        measureCommand(process.execPath, args, { runs: 1, env, cwd: root }); // fills the caches
        synth.set(factor, measureCommand(process.execPath, args, { runs: 5, env, cwd: root }));
      }
      const bundle = await loadUnsignedBundle(readFileSync(shippedBundlePath));
      const evaluation = new Map<number, Awaited<ReturnType<typeof measureAsync>>>();
      const inProcess = new Map<number, number>();
      for (const factor of factors) {
        const config = scaledStaging(factor);
        const stacks = await synthAll(config);
        const inputs = stackIds.map((id) => normalizeStack(id, stacks[id] as TerraformJson, policyParameters(config)));
        evaluation.set(factor, await measureAsync(async () => inputs.forEach((input) => bundle.evaluate(input)), { runs: 20, warmup: 3 }));
      }
      // Build + synth in-process, warm, in CPU time (this process, GC threads included): no process
      // start or module loading, so what grows with the graph is all that is measured; 100× gives
      // an interval past the 50× as a look at the headroom.
      for (const factor of [1, 10, 50, 100]) {
        const config = scaledStaging(factor);
        inProcess.set(factor, await medianCpuMs(() => synthAll(config), 7, 2));
      }
      const diff1 = await oneRuleDiff(1, dir);
      const diff50 = await oneRuleDiff(50, dir);

      // CPU time (user + system) of each process: on a shared machine its wall time swings by
      // seconds, its CPU time by tens of milliseconds. Wall time is shown beside it.
      const cpu = (f: number) => synth.get(f)!.cpuMs;
      const wall = (f: number) => synth.get(f)!.medianMs;
      const rss = (f: number) => synth.get(f)!.peakRssMb;
      const services = (f: number) => 8 * f;
      // Linear growth: a service added between 10× and 50× costs no more than one added between 1×
      // and 10× (1.5× allowed for noise; a cost growing with the square of the graph would show 5.4×).
      const warm = (f: number) => inProcess.get(f)!;
      const slope = (a: number, b: number) => (warm(b) - warm(a)) / (services(b) - services(a));
      const rows: BenchRow[] = [];
      for (const f of [10, 50]) {
        rows.push({
          name: `synth + gate CPU time, ${f}× (${services(f)} services, ${7 * f} allow rules)`,
          subject: "bench/scale/synth.ts (main.ts's steps)",
          value: `${ms(cpu(f))} (wall ${ms(wall(f))})`,
          baseline: "the same at 1× (staging)",
          baselineValue: `${ms(cpu(1))} (wall ${ms(wall(1))})`,
          ratio: ratio(cpu(f), cpu(1)),
          target: `≤ ${f}× (linear)`,
          met: cpu(f) <= f * cpu(1),
        });
      }
      const measurable = slope(1, 10) > 0;
      rows.push(
        {
          name: "build + synth CPU time (warm, in-process) per added service, 10× → 50×",
          subject: `(t50 − t10) / 320 services; t1 ${ms(warm(1))}, t10 ${ms(warm(10))}, t50 ${ms(warm(50))}`,
          value: ms(slope(10, 50)),
          baseline: "(t10 − t1) / 72 services",
          baselineValue: ms(slope(1, 10)),
          ratio: measurable ? ratio(slope(10, 50), slope(1, 10)) : "n/a",
          target: "≤ 1.5× (linear)",
          met: measurable ? slope(10, 50) <= 1.5 * slope(1, 10) : undefined,
        },
        {
          name: "headroom: the same per added service, 50× → 100×",
          subject: `(t100 − t50) / 400 services; t100 ${ms(warm(100))}`,
          value: ms(slope(50, 100)),
          baseline: "(t50 − t10) / 320 services",
          baselineValue: ms(slope(10, 50)),
          ratio: ratio(slope(50, 100), slope(10, 50)),
        },
        {
          name: "synth + gate peak RSS, 50×",
          subject: "bench/scale/synth.ts",
          value: mb(rss(50)),
          baseline: "the same at 1×",
          baselineValue: mb(rss(1)),
          ratio: ratio(rss(50), rss(1)),
          target: "≤ 50× (linear)",
          met: rss(50) <= 50 * rss(1),
        },
        {
          name: "synth + gate peak RSS, 10×",
          subject: "bench/scale/synth.ts",
          value: mb(rss(10)),
          baseline: "the same at 1×",
          baselineValue: mb(rss(1)),
          ratio: ratio(rss(10), rss(1)),
        },
        {
          name: "evaluate all policies over six stacks, 10×",
          subject: "wasm bundle in-process",
          value: ms(evaluation.get(10)!.medianMs),
          baseline: "the same at 1×",
          baselineValue: ms(evaluation.get(1)!.medianMs),
          ratio: ratio(evaluation.get(10)!.medianMs, evaluation.get(1)!.medianMs),
          target: "≤ 100 ms",
          met: evaluation.get(10)!.medianMs <= 100,
        },
        {
          name: "evaluate all policies over six stacks, 50×",
          subject: "wasm bundle in-process",
          value: ms(evaluation.get(50)!.medianMs),
          baseline: "the same at 1×",
          baselineValue: ms(evaluation.get(1)!.medianMs),
          ratio: ratio(evaluation.get(50)!.medianMs, evaluation.get(1)!.medianMs),
          target: "≤ 50× (linear)",
          met: evaluation.get(50)!.medianMs <= 50 * evaluation.get(1)!.medianMs,
        },
        {
          name: "PR diff of one allow rule gaining a method, 50×",
          subject: "npm run diff (markdown): security rows / changed resources / changed fields",
          value: `${diff50.securityRows} / ${diff50.resources} / ${diff50.fields} (${ms(diff50.ms)})`,
          baseline: "the same change at 1×",
          baselineValue: `${diff1.securityRows} / ${diff1.resources} / ${diff1.fields} (${ms(diff1.ms)})`,
          ratio: ratio(diff50.ms, diff1.ms),
          target: "one line",
          met: diff50.securityRows === 1 && diff50.resources === 1 && diff50.fields === 1,
        },
      );
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
