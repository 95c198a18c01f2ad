// `npm test`, README's test command: the project's checks in stages. The steps of a stage run at
// once (most of them wait on servers and processes, not on the CPU); a stage starts when the one
// before it passed, as `a && b` would. The first step of a stage prints as it goes; the others'
// output is held and printed whole when each ends, so no two steps' lines interleave. Exit 0 when
// every step passed; else 1, after the stage that failed, naming each failed step.
import { spawn, type ChildProcess } from "node:child_process";

/** One npm script with its arguments. */
export interface Step {
  script: string;
  args?: string[];
}

/** What `npm test` runs: lint and the static checks, then the suites and the GA checklist. */
export const stages: Step[][] = [
  [{ script: "typecheck" }, { script: "lint" }, { script: "lint:rego" }, { script: "test:rego" }],
  [
    // The real-controller suite runs once, as verify:ga's rollouts.controller.
    { script: "test:jest", args: ["--testPathIgnorePatterns=/real-controller.test.ts"] },
    { script: "verify:ga", args: ["--local-cluster"] },
  ],
];

export interface StepResult {
  step: Step;
  code: number;
  seconds: number;
}

const label = (step: Step) => [step.script, ...(step.args ?? [])].join(" ");

/** `npm run -s <script> -- <args>`, its output piped. */
export function spawnStep(step: Step): ChildProcess {
  return spawn("npm", ["run", "-s", step.script, ...(step.args?.length ? ["--", ...step.args] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs one stage; `write` gets the output, the first step's as it comes, each other's whole at its end. */
export async function runStage(
  stage: Step[],
  options: { write: (text: string) => void; run: (step: Step) => ChildProcess },
): Promise<StepResult[]> {
  const { run } = options;
  options.write(`== ${stage.map(label).join(" | ")}\n`);
  return Promise.all(
    stage.map(
      (step, i) =>
        new Promise<StepResult>((resolve) => {
          const started = performance.now();
          const child = run(step);
          const held: Buffer[] = [];
          const take = (chunk: Buffer) => (i === 0 ? options.write(chunk.toString("utf8")) : held.push(chunk));
          child.stdout?.on("data", take);
          child.stderr?.on("data", take);
          let ended = false;
          const end = (code: number) => {
            // A process that cannot start gets 'error' and then maybe 'close': one report.
            if (ended) return;
            ended = true;
            const seconds = (performance.now() - started) / 1000;
            const output = Buffer.concat(held).toString("utf8");
            options.write(
              `${i === 0 ? "" : `== ${label(step)} output\n${output}${output.endsWith("\n") || !output ? "" : "\n"}`}` +
                `== ${label(step)}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds.toFixed(1)} s\n`,
            );
            resolve({ step, code, seconds });
          };
          child.on("error", (err) => (take(Buffer.from(`${err.message}\n`)), end(127)));
          child.on("close", (code, signal) => end(code ?? (signal ? 128 : 1)));
        }),
    ),
  );
}

/** Every stage in turn; stops after the first that fails. Resolves with the exit code. */
export async function runStages(all: Step[][], options: Parameters<typeof runStage>[1]): Promise<number> {
  const started = performance.now();
  for (const stage of all) {
    const results = await runStage(stage, options);
    const failed = results.filter((r) => r.code !== 0);
    if (failed.length) {
      options.write(`npm test: FAILED: ${failed.map((r) => `${label(r.step)} (exit ${r.code})`).join(", ")}\n`);
      return 1;
    }
  }
  options.write(`npm test: every step passed in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return 0;
}

if (require.main === module) {
  const children = new Set<ChildProcess>();
  const run = (step: Step) => {
    const child = spawnStep(step);
    children.add(child);
    child.on("close", () => children.delete(child));
    return child;
  };
  // Ctrl-C or a CI cancel: the steps get the signal too (each cleans up its servers), then this exits.
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      for (const c of children) c.kill(signal);
      setTimeout(() => process.exit(130), 5000).unref();
    });
  void runStages(stages, { write: (t) => process.stdout.write(t), run }).then((code) => (process.exitCode = code));
}
