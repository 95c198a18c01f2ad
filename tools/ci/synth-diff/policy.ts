import { resolve } from "node:path";
import { loadShippedBundle } from "../../../policy-engine/bundle";
import { detectEnvironment, readSynthOutput, SynthOutputError } from "../../../policy-engine/gate";
import { runGate } from "../../../policy-engine/gate";
import { policyParameters } from "../../../policy-engine/input";
import { ConfigError, loadEnvironment } from "../../../config/load";
import { parseGateReport, violationKey, type ReportedViolation } from "../../../contracts/violation";
import { type PolicyDiff, type PolicyReport } from "./model";
import { UsageError } from "../../../lib/cli";

/** The repository root (this file lives in tools/ci/synth-diff). */
export const repoRoot = resolve(__dirname, "..", "..", "..");

/** Checks the `policy:check --format json` shape, naming the fields that are wrong. */
export function parsePolicyReport(text: string, source: string): PolicyReport {
  try {
    const report = parseGateReport(text, source);
    return { violations: report.violations, warnings: report.warnings, passed: report.passed };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const slim = (v: ReportedViolation): ReportedViolation => ({
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

/** Head's verdicts, and which denies changed since base (the same deny: rule, stack and resource match). */
export function diffPolicy(head: PolicyReport, base?: PolicyReport): PolicyDiff {
  if (!base) return { head, introduced: [], fixed: [] };
  const before = new Set(base.violations.map(violationKey));
  const after = new Set(head.violations.map(violationKey));
  return {
    head,
    base,
    introduced: head.violations.filter((v) => !before.has(violationKey(v))),
    fixed: base.violations.filter((v) => !after.has(violationKey(v))),
  };
}
