// The policy gate's findings: one owner for the shape the gate builds (policy-engine), its JSON
// report (`policy:check --format json`, the release's policy-verdicts.json) and every reader of it
// (the PR summary in tools/ci/synth-diff, verify:ga, the service's policy-verdicts probe).
import { z } from "zod";
import { schemaProblems } from "../lib/problems";

/** One reported deny or warning, as the JSON report holds it. */
export const violationSchema = z.object({
  rule: z.string().min(1),
  /** The rule's severity annotation (critical, high, ...); whether it fails is decided by deny vs warn. */
  severity: z.string().min(1),
  stack: z.string().min(1),
  resource: z.string(),
  message: z.string(),
  title: z.string().optional(),
  control: z.string().optional(),
  /** How to fix it, from the rule's METADATA. */
  fix: z.string().optional(),
});
export type ReportedViolation = z.infer<typeof violationSchema>;

/** One result of a rule as the Rego rules build it (policies/maestro/lib/lib.rego): every field set. */
export interface Violation extends Required<ReportedViolation> {
  /** `<rule> <resource>: <message>`: the line `conftest test` prints for this result. */
  msg: string;
}

/** The JSON report of one gate run: denies, warnings, passed rule evaluations and the stacks read. */
export const gateReportSchema = z.object({
  violations: z.array(violationSchema),
  warnings: z.array(violationSchema).default([]),
  passed: z.number().int().nonnegative(),
  stacks: z.array(z.string()).optional(),
});
export type GateReportJson = z.infer<typeof gateReportSchema>;

/** The report as a reader sees it: its fields, or an Error naming the first wrong ones and where it came from. */
export function parseGateReport(text: string, source: string): GateReportJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not JSON (${(err as Error).message})`);
  }
  const parsed = gateReportSchema.safeParse(data);
  if (!parsed.success) throw new Error(`${source}: not a policy gate report: ${schemaProblems(parsed.error).join("; ")}`);
  return parsed.data;
}

/** The same finding on both sides of a diff: rule, stack and resource match. */
export const violationKey = (v: Pick<ReportedViolation, "rule" | "stack" | "resource">): string =>
  `${v.rule}\u0000${v.stack}\u0000${v.resource}`;

/** The reported form of a gate result: what the JSON report prints for it. */
export const reported = (v: ReportedViolation): ReportedViolation => ({
  rule: v.rule,
  severity: v.severity,
  stack: v.stack,
  resource: v.resource,
  message: v.message,
  title: v.title,
  control: v.control,
  fix: v.fix,
});
