import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError, type PolicyDiff, type PolicyReport, type PolicyViolation } from "./model";

/** The repository root (this file lives in tools/ci/synth-diff). */
export const repoRoot = resolve(__dirname, "..", "..", "..");

/** Warnings do not fail a gate; anything else (deny, and severities we do not know) does. */
export function isDeny(v: PolicyViolation): boolean {
  return !/^(warn|warning|info|notice|low)$/i.test(v.severity);
}

/** Checks the `--format json` shape of policy:check, naming the first field that is wrong. */
export function parsePolicyReport(text: string, source: string): PolicyReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source}: not JSON (${(err as Error).message})`);
  }
  const report = data as Partial<PolicyReport>;
  if (!report || typeof report !== "object" || !Array.isArray(report.violations))
    throw new UsageError(`${source}: expected {"violations": [...], "passed": N}`);
  if (typeof report.passed !== "number") throw new UsageError(`${source}: "passed" must be a number`);
  report.violations.forEach((v, i) => {
    for (const field of ["rule", "severity", "stack", "resource", "message"] as const) {
      if (typeof v?.[field] !== "string") throw new UsageError(`${source}: violations[${i}].${field} must be a string`);
    }
  });
  return { violations: report.violations, passed: report.passed };
}

/** Whether this checkout has issue 3's policy:check; undefined when it does, else why not. */
export function policyCheckMissing(root = repoRoot): string | undefined {
  try {
    const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts ?? {};
    return scripts["policy:check"] ? undefined : "this checkout has no `npm run policy:check` (tools/ci/policy-check)";
  } catch {
    return `cannot read ${join(root, "package.json")}`;
  }
}

/** Runs the project's own policy gate (`npm run -s policy:check -- <dir> --format json`) over one synth output. */
export function runPolicyCheck(synthDir: string, root = repoRoot): PolicyReport {
  const run = spawnSync("npm", ["run", "-s", "policy:check", "--", resolve(synthDir), "--format", "json"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new UsageError(`policy:check could not run: ${run.error.message}`);
  // 0: clean, 1: violations; both print the report. Anything else is a failure of the check itself.
  if (run.status !== 0 && run.status !== 1) {
    throw new UsageError(
      `policy:check on ${synthDir} exited ${String(run.status)}: ${(run.stderr || run.stdout).trim().split("\n").slice(-5).join(" | ")}`,
    );
  }
  return parsePolicyReport(run.stdout, `policy:check on ${synthDir}`);
}

const identity = (v: PolicyViolation) => `${v.rule}\u0000${v.stack}\u0000${v.resource}`;

/** Head's verdicts, and what changed since base (a violation is the same when rule, stack and resource match). */
export function diffPolicy(head: PolicyReport, base?: PolicyReport): PolicyDiff {
  if (!base) return { head, introduced: [], fixed: [] };
  const before = new Set(base.violations.map(identity));
  const after = new Set(head.violations.map(identity));
  return {
    head,
    base,
    introduced: head.violations.filter((v) => !before.has(identity(v))),
    fixed: base.violations.filter((v) => !after.has(identity(v))),
  };
}
