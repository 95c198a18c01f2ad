// `npm run verify:ga [-- --env staging] [--cluster]`: the GA runbook as one command. See docs/release.md.
import { writeFileSync } from "node:fs";
import { ConfigError, loadEnvironment } from "../../../config/load";
import { checklist } from "./checks";
import { sections, type Check } from "./model";
import { formatJson, formatJunit, formatText } from "./report";
import { runChecklist } from "./runner";
import { flagValue, UsageError } from "../../../lib/cli";

const usage = `usage: npm run verify:ga [-- options]

Runs every GA runbook check that can run here and prints the runbook as a checklist: each section,
each check PASS / FAIL / NEEDS CLUSTER (with the exact command that checks it there), and a verdict.

  --env staging|production  environment whose values the cluster commands use (default: staging);
                            synth + policy gate always run for both environments
  --cluster                 also run the cluster commands against the current kube context
  --only <ids>              comma-separated check ids or sections (${sections.map((s) => s.id).join(", ")})
  --format text|json        report on stdout (default: text)
  --junit <file>            also write JUnit XML (FAIL = failure, NEEDS CLUSTER = skipped)
  --list                    print the checklist without running it
  -h, --help                this text

Exit: 0 nothing FAILed (NEEDS CLUSTER does not fail), 1 a check failed, 2 bad usage.`;

interface Options {
  env: string;
  cluster: boolean;
  only?: string[];
  format: "text" | "json";
  junit?: string;
  list: boolean;
}

export function parseArgs(argv: string[]): Options | "help" {
  const o: Options = { env: "staging", cluster: false, format: "text", list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => flagValue(arg, argv[++i]);
    if (arg === "-h" || arg === "--help") return "help";
    else if (arg === "--env") o.env = value();
    else if (arg === "--cluster") o.cluster = true;
    else if (arg === "--only") o.only = value().split(",").filter(Boolean);
    else if (arg === "--junit") o.junit = value();
    else if (arg === "--list") o.list = true;
    else if (arg === "--format") {
      const f = value();
      if (f !== "text" && f !== "json") throw new UsageError(`--format must be text or json (got '${f}')`);
      o.format = f;
    } else throw new UsageError(`unknown argument '${arg}'`);
  }
  return o;
}

/** The checks --only selects (by id, id prefix or section); an unknown name is a usage error. */
export function selectChecks(all: Check[], only?: string[]): Check[] {
  if (!only) return all;
  for (const name of only) {
    if (!all.some((c) => c.section === name || c.id === name || c.id.startsWith(`${name}.`))) {
      throw new UsageError(`--only: no check or section '${name}' (sections: ${sections.map((s) => s.id).join(", ")})`);
    }
  }
  return all.filter((c) => only.some((name) => c.section === name || c.id === name || c.id.startsWith(`${name}.`)));
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  if (o === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const checks = selectChecks(checklist(loadEnvironment(o.env)), o.only);
  if (o.list) {
    for (const c of checks)
      process.stdout.write(
        `${c.id}\t${c.local ? "local" : ""}${c.local && c.cluster ? "+" : ""}${c.cluster ? "cluster" : ""}\t${c.title}\n`,
      );
    return 0;
  }
  const report = await runChecklist(checks, {
    env: o.env,
    cluster: o.cluster,
    onResult: (r) =>
      process.stderr.write(
        `verify:ga ${r.status.padEnd(13)} ${r.id}${r.durationMs >= 1000 ? ` (${(r.durationMs / 1000).toFixed(1)} s)` : ""}\n`,
      ),
  });
  process.stdout.write(o.format === "json" ? formatJson(report) : formatText(report));
  if (o.junit) writeFileSync(o.junit, formatJunit(report));
  return report.verdict === "FAIL" ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Servers a check started are closed; anything else left (a stray handle) must not hold the process.
      setTimeout(() => process.exit(code), 500).unref();
    },
    (err: unknown) => {
      const known = err instanceof UsageError || err instanceof ConfigError;
      process.stderr.write(`verify:ga: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
      if (err instanceof UsageError) process.stderr.write(`${usage}\n`);
      process.exitCode = 2;
    },
  );
}
