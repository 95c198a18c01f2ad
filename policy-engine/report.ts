// Renderings of a gate report: text for people, json for tools, junit for CI test tabs, sarif for
// code-scanning. One place, so synth, policy:check and the PR summary agree.
import { reported, type Violation } from "../contracts/violation";
import type { GateReport } from "./gate";

export const reportFormats = ["text", "json", "junit", "sarif"] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** A summary line, then one line per deny (rule id, stack, resource, message) with its fix, then warnings. */
export function formatText(report: GateReport): string {
  const failedStacks = new Set(report.violations.map((v) => v.stack));
  const summary =
    report.violations.length === 0
      ? `policy gate: PASS: ${report.stacks.length} stacks, ${report.passed} checks passed, ${report.warnings.length} warnings`
      : `policy gate: FAIL: ${report.violations.length} violations in ${failedStacks.size} of ${report.stacks.length} stacks (${[...failedStacks].join(", ")}), ${report.passed} checks passed, ${report.warnings.length} warnings`;
  const line = (level: string, v: Violation) => `${level} ${v.rule} [${v.stack}] ${v.resource}: ${v.message}\n       fix: ${v.fix}`;
  return [summary, ...report.violations.map((v) => line("DENY", v)), ...report.warnings.map((v) => line("WARN", v))].join("\n") + "\n";
}

/** `{"violations":[{rule,severity,stack,resource,message,...}],"warnings":[...],"passed":N}`. */
export function formatJson(report: GateReport): string {
  return `${JSON.stringify({ violations: report.violations.map(reported), warnings: report.warnings.map(reported), passed: report.passed, stacks: report.stacks }, null, 2)}\n`;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One testsuite per stack, one testcase per deny rule; a failure per violation. */
export function formatJunit(report: GateReport): string {
  const denyRules = report.rules.filter((r) => r.kind === "deny");
  const suites = report.stacks.map((stack) => {
    const cases = denyRules.map((rule) => {
      const hits = report.violations.filter((v) => v.stack === stack && v.rule === rule.id);
      const failures = hits
        .map(
          (v) =>
            `      <failure type="${xml(v.rule)}" message="${xml(`${v.resource}: ${v.message}`)}">${xml(`${v.message}\nfix: ${v.fix}`)}</failure>`,
        )
        .join("\n");
      return `    <testcase classname="${xml(stack)}" name="${xml(`${rule.id} ${rule.title}`)}">${failures ? `\n${failures}\n    ` : ""}</testcase>`;
    });
    const failed = new Set(report.violations.filter((v) => v.stack === stack).map((v) => v.rule)).size;
    return `  <testsuite name="${xml(stack)}" tests="${denyRules.length}" failures="${failed}">\n${cases.join("\n")}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="policy gate" tests="${denyRules.length * report.stacks.length}" failures="${report.stacks.length * denyRules.length - report.passed}">\n${suites.join("\n")}\n</testsuites>\n`;
}

const sarifLevel = (severity: string) =>
  severity === "critical" || severity === "high" ? "error" : severity === "medium" ? "warning" : "note";

/** SARIF 2.1.0: rules from the catalog, results located at cdktf.out/stacks/<stack>/cdk.tf.json. */
export function formatSarif(report: GateReport): string {
  const result = (v: Violation, level: string) => ({
    ruleId: v.rule,
    level,
    message: { text: `${v.resource}: ${v.message}. Fix: ${v.fix}` },
    locations: [
      {
        physicalLocation: { artifactLocation: { uri: `cdktf.out/stacks/${v.stack}/cdk.tf.json` } },
        logicalLocations: [{ fullyQualifiedName: `${v.stack}/${v.resource}` }],
      },
    ],
  });
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "maestro-policy-gate",
            informationUri: "https://github.com/maestro/platform/blob/main/docs/policies.md",
            rules: report.rules.map((r) => ({
              id: r.id,
              name: r.id,
              shortDescription: { text: r.title },
              fullDescription: { text: r.description ?? r.title },
              help: { text: r.fix },
              defaultConfiguration: { level: r.kind === "warn" ? "note" : sarifLevel(r.severity) },
              properties: { severity: r.severity, control: r.control },
            })),
          },
        },
        results: [...report.violations.map((v) => result(v, sarifLevel(v.severity))), ...report.warnings.map((v) => result(v, "note"))],
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

export function formatReport(report: GateReport, format: ReportFormat): string {
  switch (format) {
    case "json":
      return formatJson(report);
    case "junit":
      return formatJunit(report);
    case "sarif":
      return formatSarif(report);
    default:
      return formatText(report);
  }
}
