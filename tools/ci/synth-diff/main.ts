// `npm run -s diff -- <base-synth-dir> <head-synth-dir>`: what a PR changes in the synthesized
// stacks, security-relevant fields first, with the policy verdicts. See docs/reviewing.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffSynth } from "./diff";
import { synthCommit } from "./git";
import { renderMarkdown } from "./markdown";
import type { PolicyReport, SynthDiff } from "./model";
import { oneOf, parseCli, runCli, UsageError, type CliIo } from "../../../lib/cli";
import { readSynthDir } from "./load";
import { diffPolicy, evaluatePolicies, parsePolicyReport } from "./policy";
import { readPlans } from "./plan";

const usage = `Usage:
  npm run -s diff -- <base-synth-dir> <head-synth-dir> [options]
  npm run -s diff -- --git <base-ref> <head-ref> [--env staging|production] [options]
  npm run -s diff -- --plan [<stack>=]<plan.json> [--plan ...] [options]

Compares two synth outputs (cdktf.out folders with stacks/<id>/cdk.tf.json) resource by resource,
and inside Kubernetes manifests, Helm values and IAM documents field by field. With --git, each ref
is exported and synthesized first. With --plan, renders \`terraform show -json\` plans the same way.

Options:
  --format markdown|json   report format (default: markdown, sized for a PR comment)
  --out <file>             write the report to <file> instead of stdout
  --base-name <text>       how the report names base (default: the dir or ref); --head-name likewise
  --max-chars <n>          markdown size limit (default 60000, under GitHub's comment limit)
  --env <name>             environment to synthesize with --git (default: main.ts's default)
  --policy auto|off        auto (default): run this checkout's policy gate (the shipped bundle, as
                           \`npm run policy:check\` does) on both sides; off: no policy verdicts
  --policy-head <file>     head's policy:check --format json report (instead of running it)
  --policy-base <file>     base's report, for new / fixed violations
  --fail-on deny|new-deny|never
                           exit 1 when head has any deny (default), only a deny new since base, or
                           never; warnings never fail
  -h, --help               this text

Exit: 0 report written and the verdict passes; 1 the policy verdict fails (see --fail-on);
      2 bad usage or unreadable input.`;

interface Options {
  positional: string[];
  format: "markdown" | "json";
  out?: string;
  env?: string;
  git: boolean;
  plans: string[];
  policy: "auto" | "off";
  policyHead?: string;
  policyBase?: string;
  failOn: "deny" | "new-deny" | "never";
  maxChars?: number;
  baseName?: string;
  headName?: string;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseCli(
    argv,
    {
      format: { type: "string" },
      out: { type: "string" },
      "base-name": { type: "string" },
      "head-name": { type: "string" },
      "max-chars": { type: "string" },
      env: { type: "string" },
      git: { type: "boolean" },
      plan: { type: "string", multiple: true },
      policy: { type: "string" },
      "policy-head": { type: "string" },
      "policy-base": { type: "string" },
      "fail-on": { type: "string" },
    },
    { positionals: true },
  );
  const o: Options = {
    positional: positionals,
    format: oneOf("--format", values.format, ["markdown", "json"] as const) ?? "markdown",
    out: values.out,
    env: values.env,
    git: values.git ?? false,
    plans: values.plan ?? [],
    policy: oneOf("--policy", values.policy, ["auto", "off"] as const) ?? "auto",
    policyHead: values["policy-head"],
    policyBase: values["policy-base"],
    failOn: oneOf("--fail-on", values["fail-on"], ["deny", "new-deny", "never"] as const) ?? "deny",
    baseName: values["base-name"],
    headName: values["head-name"],
  };
  if (values["max-chars"] !== undefined) {
    const v = values["max-chars"];
    o.maxChars = Number(v);
    if (!Number.isInteger(o.maxChars) || o.maxChars < 2000)
      throw new UsageError(`--max-chars must be a whole number of at least 2000 (got ${JSON.stringify(v)})`);
  }
  if (o.plans.length) {
    if (o.positional.length || o.git) throw new UsageError("--plan takes no <base> <head> and no --git");
  } else if (o.positional.length !== 2) {
    throw new UsageError(
      `expected two arguments, ${o.git ? "<base-ref> <head-ref>" : "<base-synth-dir> <head-synth-dir>"} (got ${o.positional.length})`,
    );
  }
  if (o.env && !o.git) throw new UsageError("--env applies only with --git (a synth dir already has its environment)");
  if (o.policyBase && !o.policyHead) throw new UsageError("--policy-base needs --policy-head");
  return o;
}

function readReport(file: string, flag: string): PolicyReport {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${flag} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parsePolicyReport(text, `${flag} ${file}`);
}

/** Adds policy verdicts: from given reports, or by running the project's policy gate on both dirs. */
async function addPolicy(diff: SynthDiff, o: Options, dirs?: { base: string; head: string }): Promise<void> {
  if (o.policyHead) {
    diff.policy = diffPolicy(
      readReport(o.policyHead, "--policy-head"),
      o.policyBase ? readReport(o.policyBase, "--policy-base") : undefined,
    );
    return;
  }
  if (o.policy === "off") {
    diff.policyUnavailable = "skipped (--policy off)";
    return;
  }
  if (!dirs) {
    diff.policyUnavailable = "a plan has no synth output to check; pass --policy-head";
    return;
  }
  // The same (this checkout's) rules judge both sides, so "new" means new because of this change.
  diff.policy = diffPolicy(await evaluatePolicies(dirs.head), await evaluatePolicies(dirs.base));
}

/** Exit code for the verdict: 1 when the policy result fails under --fail-on (warnings never fail). */
export function verdictExitCode(diff: SynthDiff, failOn: Options["failOn"]): 0 | 1 {
  if (!diff.policy || failOn === "never") return 0;
  const failing = failOn === "deny" ? diff.policy.head.violations : diff.policy.introduced;
  return failing.length > 0 ? 1 : 0;
}

async function main(argv: string[], io: CliIo): Promise<number> {
  let scratch: string | undefined;
  try {
    const o = parseOptions(argv);
    let diff: SynthDiff;
    if (o.plans.length) {
      const plans = readPlans(o.plans);
      diff = plans.diff;
      await addPolicy(diff, o);
    } else {
      let [baseDir, headDir] = o.positional;
      let names = { base: baseDir, head: headDir };
      if (o.git) {
        scratch = mkdtempSync(join(tmpdir(), "maestro-synth-diff-"));
        const base = synthCommit(o.positional[0], join(scratch, "base"), o.env);
        const head = synthCommit(o.positional[1], join(scratch, "head"), o.env);
        [baseDir, headDir] = [base.outdir, head.outdir];
        names = { base: `${o.positional[0]} (${base.commit.slice(0, 12)})`, head: `${o.positional[1]} (${head.commit.slice(0, 12)})` };
      }
      diff = diffSynth(readSynthDir(baseDir, "base"), readSynthDir(headDir, "head"), names);
      await addPolicy(diff, o, { base: baseDir, head: headDir });
    }
    diff.base = o.baseName ?? diff.base;
    diff.head = o.headName ?? diff.head;
    const report = o.format === "json" ? JSON.stringify(diff, null, 2) + "\n" : renderMarkdown(diff, { maxChars: o.maxChars });
    if (o.out) {
      writeFileSync(o.out, report);
      io.err(`synth diff written to ${o.out}\n`);
    } else io.out(report);
    return verdictExitCode(diff, o.failOn);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

// Unreadable input (a synth dir, a plan, a report, a git ref) is 2, as bad usage; 1 is the verdict.
const cli = { tool: "synth-diff", usage, main, exitCode: () => 2 };

/** Runs the CLI in-process (tests): the exit code and what it wrote. */
export async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(cli, argv, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

if (require.main === module) void runCli(cli);
