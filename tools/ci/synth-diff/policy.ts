import { resolve } from "node:path";
import { loadShippedBundle } from "../../../policy-engine/bundle";
import { detectEnvironment, readSynthOutput, SynthOutputError } from "../../../policy-engine/gate";
import { runGate } from "../../../policy-engine/gate";
import { policyParameters } from "../../../policy-engine/input";
import { ConfigError, loadEnvironment } from "../../../config/load";
import { UsageError, type PolicyDiff, type PolicyReport, type PolicyViolation } from "./model";

/** The repository root (this file lives in tools/ci/synth-diff). */
export const repoRoot = resolve(__dirname, "..", "..", "..");

/** Checks the `policy:check --format json` shape, naming the first field that is wrong. */
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
  if (report.warnings !== undefined && !Array.isArray(report.warnings)) throw new UsageError(`${source}: "warnings" must be a list`);
  for (const list of ["violations", "warnings"] as const) {
    (report[list] ?? []).forEach((v, i) => {
      for (const field of ["rule", "severity", "stack", "resource", "message"] as const) {
        if (typeof v?.[field] !== "string") throw new UsageError(`${source}: ${list}[${i}].${field} must be a string`);
      }
    });
  }
  return { violations: report.violations, warnings: report.warnings ?? [], passed: report.passed };
}

const slim = (v: PolicyViolation): PolicyViolation => ({
  rule: v.rule,
  severity: v.severity,
  stack: v.stack,
  resource: v.resource,
  message: v.message,
  fix: v.fix,
});

/**
 * The project's own policy gate over one synth output: the shipped wasm bundle through issue 3's
 * gate (policy-engine/gate.ts), with the environment read from the stacks as policy:check does.
 */
export async function evaluatePolicies(synthDir: string, env?: string): Promise<PolicyReport> {
  try {
    const stacks = readSynthOutput(synthDir);
    const config = loadEnvironment(env ?? detectEnvironment(stacks) ?? "staging");
    const report = runGate(await loadShippedBundle(), stacks, policyParameters(config));
    return { violations: report.violations.map(slim), warnings: report.warnings.map(slim), passed: report.passed };
  } catch (err) {
    if (err instanceof SynthOutputError || err instanceof ConfigError) throw new UsageError(`policy gate on ${synthDir}: ${err.message}`);
    throw err;
  }
}

const identity = (v: PolicyViolation) => `${v.rule}\u0000${v.stack}\u0000${v.resource}`;

/** Head's verdicts, and which denies changed since base (the same deny: rule, stack and resource match). */
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
