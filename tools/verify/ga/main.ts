// `npm run verify:ga [-- --env staging] [--cluster | --local-cluster]`: the GA runbook as one command. See docs/release.md.
import { writeFileSync } from "node:fs";
import { ConfigError, loadEnvironment } from "../../../config/load";
import { checklist } from "./checks";
import { sections, type Check } from "./model";
import { formatJson, formatJunit, formatText } from "./report";
import { runChecklist } from "./runner";
import { localClusterEnv, localClusterSetup } from "./local-cluster";
import { oneOf, parseCli, runCli, UsageError } from "../../../lib/cli";

const usage = `usage: npm run verify:ga [-- options]

Runs every GA runbook check that can run here and prints the runbook as a checklist: each section,
each check PASS / FAIL / NEEDS CLUSTER (with the exact command that checks it there), and a verdict.

  --env staging|production  environment whose values the cluster commands use (default: staging);
                            synth + policy gate always run for both environments
  --cluster                 also run the cluster commands against the environment's kube context
  --local-cluster           also run them against a local control plane this run starts (tools/cluster):
                            the local environment's stacks applied, the real Argo Rollouts controller;
                            what needs a data plane or a cloud account stays NEEDS CLUSTER, saying so
  --only <ids>              comma-separated check ids or sections (${sections.map((s) => s.id).join(", ")})
  --format text|json        report on stdout (default: text)
  --junit <file>            also write JUnit XML (FAIL = failure, NEEDS CLUSTER = skipped)
  --list                    print the checklist without running it
  -h, --help                this text

Exit: 0 nothing FAILed (NEEDS CLUSTER does not fail), 1 a check failed, 2 bad usage.`;

interface Options {
  env: string;
  cluster: boolean;
  localCluster: boolean;
  only?: string[];
  format: "text" | "json";
  junit?: string;
  list: boolean;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseCli(argv, {
    env: { type: "string" },
    cluster: { type: "boolean" },
    "local-cluster": { type: "boolean" },
    only: { type: "string" },
    format: { type: "string" },
    junit: { type: "string" },
    list: { type: "boolean" },
  });
  const localCluster = values["local-cluster"] ?? false;
  if (localCluster && values.cluster) throw new UsageError("--cluster and --local-cluster: choose one");
  if (localCluster && values.env !== undefined && values.env !== localClusterEnv)
    throw new UsageError(`--local-cluster runs the ${localClusterEnv} environment (config/${localClusterEnv}.ts), not --env ${values.env}`);
  return {
    env: values.env ?? (localCluster ? localClusterEnv : "staging"),
    cluster: values.cluster ?? false,
    localCluster,
    only: values.only?.split(",").filter(Boolean),
    format: oneOf("--format", values.format, ["text", "json"]) ?? "text",
    junit: values.junit,
    list: values.list ?? false,
  };
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
  const o = parseOptions(argv);
  const checks = selectChecks(checklist(loadEnvironment(o.env)), o.only);
  if (o.list) {
    for (const c of checks)
      process.stdout.write(
        `${c.id}\t${c.local ? "local" : ""}${c.local && c.cluster ? "+" : ""}${c.cluster ? "cluster" : ""}\t${c.title}\n`,
      );
    return 0;
  }
  const run = await runChecklist(checks, {
    env: o.env,
    cluster: o.cluster,
    clusterSetup: o.localCluster ? localClusterSetup : undefined,
    onResult: (r) =>
      process.stderr.write(
        `verify:ga ${r.status.padEnd(13)} ${r.id}${r.durationMs >= 1000 ? ` (${(r.durationMs / 1000).toFixed(1)} s)` : ""}\n`,
      ),
  });
  const report = o.only ? { ...run, only: o.only } : run;
  process.stdout.write(o.format === "json" ? formatJson(report) : formatText(report));
  if (o.junit) writeFileSync(o.junit, formatJunit(report));
  return report.verdict === "FAIL" ? 1 : 0;
}

if (require.main === module) {
  // An environment whose configuration is invalid is bad usage (2), as documented.
  void runCli({ tool: "verify:ga", usage, main, exitCode: (err) => (err instanceof ConfigError ? 2 : 1) }).then((code) => {
    // Servers a check started are closed; anything else left (a stray handle) must not hold the process.
    setTimeout(() => process.exit(code), 500).unref();
  });
}
