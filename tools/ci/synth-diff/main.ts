// `npm run -s diff -- <base-synth-dir> <head-synth-dir>`: what a PR changes in the synthesized
// stacks, security-relevant fields first, with the policy verdicts. See docs/reviewing.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffSynth } from "./diff";
import { synthCommit } from "./git";
import { renderMarkdown } from "./markdown";
import { UsageError, type PolicyReport, type SynthDiff } from "./model";
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

function parseArgs(argv: string[]): Options | "help" {
  const o: Options = { positional: [], format: "markdown", git: false, plans: [], policy: "auto", failOn: "deny" };
  const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T => {
    if (!allowed.includes(v as T))
      throw new UsageError(`${flag} must be one of ${allowed.join(", ")} (got ${v === undefined ? "nothing" : JSON.stringify(v)})`);
    return v as T;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const next = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "-h":
      case "--help":
        return "help";
      case "--format":
        o.format = oneOf("--format", next(), ["markdown", "json"] as const);
        break;
      case "--out":
        o.out = next();
        break;
      case "--base-name":
        o.baseName = next();
        break;
      case "--head-name":
        o.headName = next();
        break;
      case "--max-chars": {
        const v = next();
        o.maxChars = Number(v);
        if (!Number.isInteger(o.maxChars) || o.maxChars < 2000)
          throw new UsageError(`--max-chars must be a whole number of at least 2000 (got ${JSON.stringify(v)})`);
        break;
      }
      case "--env":
        o.env = next();
        break;
      case "--git":
        o.git = true;
        break;
      case "--plan":
        o.plans.push(next());
        break;
      case "--policy":
        o.policy = oneOf("--policy", next(), ["auto", "off"] as const);
        break;
      case "--policy-head":
        o.policyHead = next();
        break;
      case "--policy-base":
        o.policyBase = next();
        break;
      case "--fail-on":
        o.failOn = oneOf("--fail-on", next(), ["deny", "new-deny", "never"] as const);
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg} (see --help)`);
        o.positional.push(arg);
    }
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

export async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let scratch: string | undefined;
  try {
    const o = parseArgs(argv);
    if (o === "help") return { code: 0, stdout: usage + "\n", stderr: "" };
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
    const code = verdictExitCode(diff, o.failOn);
    if (o.out) {
      writeFileSync(o.out, report);
      return { code, stdout: "", stderr: `synth diff written to ${o.out}\n` };
    }
    return { code, stdout: report, stderr: "" };
  } catch (err) {
    if (err instanceof UsageError) return { code: 2, stdout: "", stderr: `synth-diff: ${err.message}\n` };
    return { code: 2, stdout: "", stderr: `synth-diff: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n` };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
  });
}
