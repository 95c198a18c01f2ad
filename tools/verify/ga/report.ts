import { sections, type GaReport, type Result } from "./model";

const mark: Record<Result["status"], string> = { PASS: "PASS", FAIL: "FAIL", "NEEDS CLUSTER": "NEEDS CLUSTER" };

/** The runbook as a checklist: a section per area, a line per check, the command for cluster checks, the verdict. */
export function formatText(report: GaReport): string {
  const where = report.cluster === "local" ? "local + local control plane" : report.cluster ? "local + cluster" : "local";
  const lines = [`Maestro GA checklist: environment ${report.env}, ${where} checks`, ""];
  for (const section of sections) {
    const mine = report.results.filter((r) => r.section === section.id);
    if (!mine.length) continue;
    lines.push(section.title);
    for (const r of mine) {
      lines.push(`  [${mark[r.status]}] ${r.title}`);
      // On the local control plane, a check left to a real cluster says what it needs.
      if (r.status !== "NEEDS CLUSTER" || report.cluster === "local")
        lines.push(`      ${r.detail}${r.durationMs >= 1000 ? ` (${(r.durationMs / 1000).toFixed(1)} s)` : ""}`);
      if (r.command && (r.status === "NEEDS CLUSTER" || r.status === "FAIL")) lines.push(`      $ ${r.command}`);
    }
    lines.push("");
  }
  const { PASS, FAIL } = report.counts;
  const pending = report.counts["NEEDS CLUSTER"];
  lines.push(
    report.verdict === "FAIL"
      ? `Verdict: FAIL: ${FAIL} failed, ${PASS} passed, ${pending} need a cluster. Not ready to tag.`
      : pending && report.cluster === "local"
        ? `Verdict: PASS on the local control plane: ${PASS} passed, ${pending} need a data plane or a cloud account (run \`npm run verify:ga -- --cluster\` against the staging context before promoting).`
        : pending
          ? `Verdict: PASS locally: ${PASS} passed, ${pending} need a cluster (run \`npm run verify:ga -- --cluster\` against the ${report.env} context before promoting).`
          : report.only
            ? `Verdict: PASS: all ${PASS} selected checks passed${report.cluster === "local" ? " on the local control plane" : ""} (--only ${report.only.join(",")}: run the whole checklist before tagging).`
            : report.cluster === "local"
              ? `Verdict: PASS on the local control plane: all ${PASS} checks passed (run \`npm run verify:ga -- --cluster\` against the staging context before promoting).`
              : `Verdict: PASS: all ${PASS} checks passed. Tag the release and promote.`,
  );
  return lines.join("\n") + "\n";
}

export function formatJson(report: GaReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JUnit XML: a testsuite per section, a testcase per check; FAIL is a failure, NEEDS CLUSTER is skipped with its command. */
export function formatJunit(report: GaReport): string {
  const suites = sections
    .map((section) => {
      const mine = report.results.filter((r) => r.section === section.id);
      if (!mine.length) return "";
      const cases = mine.map((r) => {
        const open = `    <testcase classname="verify-ga.${section.id}" name="${xml(`${r.id}: ${r.title}`)}" time="${(r.durationMs / 1000).toFixed(3)}"`;
        if (r.status === "PASS") return `${open}>\n      <system-out>${xml(r.detail)}</system-out>\n    </testcase>`;
        if (r.status === "FAIL")
          return `${open}>\n      <failure message="${xml(r.detail)}">${xml(r.command ?? r.detail)}</failure>\n    </testcase>`;
        return `${open}>\n      <skipped message="${xml(`needs cluster: ${r.command ?? ""}`)}"/>\n    </testcase>`;
      });
      const count = (s: Result["status"]) => mine.filter((r) => r.status === s).length;
      const time = (mine.reduce((t, r) => t + r.durationMs, 0) / 1000).toFixed(3);
      return `  <testsuite name="${xml(section.title)}" tests="${mine.length}" failures="${count("FAIL")}" skipped="${count("NEEDS CLUSTER")}" time="${time}">\n${cases.join("\n")}\n  </testsuite>`;
    })
    .filter(Boolean);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="verify:ga (${xml(report.env)})" tests="${report.results.length}" failures="${report.counts.FAIL}" skipped="${report.counts["NEEDS CLUSTER"]}">\n${suites.join("\n")}\n</testsuites>\n`;
}
