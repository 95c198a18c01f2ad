// `npm run -s checkov:check -- <synth-output-dir> [--checkov PATH] [--format text|json]`: checkov (the
// pinned one of tools/install/tools.sh) over every synthesized stack, a second opinion beside our own
// policy gate. Each finding must be fixed in its stack or waived in policies/checkov/waivers.json with
// a reason; the report shows every waiver it applied, and a waiver that matches no finding fails too.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { CliInputError, oneOf, parseCli, runCli, UsageError } from "../../lib/cli";

const run = promisify(execFile);

export const defaultCheckov = resolve(__dirname, "..", "..", ".tools", "bin", "checkov");
export const waiversPath = resolve(__dirname, "..", "..", "policies", "checkov", "waivers.json");

export interface CheckovFinding {
  check: string;
  title: string;
  /** Terraform address, e.g. aws_s3_bucket.postgres_bucket_41A6ABE5. */
  resource: string;
  /** Stack folder the finding is in. */
  stack: string;
}
export interface Waiver {
  check: string;
  /** A regular expression over the resource address. */
  resources: string;
  reason: string;
}
export interface CheckovReport {
  passed: number;
  failed: CheckovFinding[];
  waived: Array<CheckovFinding & { reason: string }>;
  /** Waivers no finding matched: stale, to be removed. */
  unused: Waiver[];
}

/** The project's waivers, each checked for shape (a bad entry is an error naming it). */
export function readWaivers(path = waiversPath): Waiver[] {
  const doc = JSON.parse(readFileSync(path, "utf8")) as { waivers?: unknown };
  if (!Array.isArray(doc.waivers)) throw new CliInputError("INPUT_UNREADABLE", `${path}: must hold {"waivers": [...]}`);
  return doc.waivers.map((w: Partial<Waiver>, i: number) => {
    for (const field of ["check", "resources", "reason"] as const) {
      if (typeof w[field] !== "string" || !w[field])
        throw new CliInputError("INPUT_UNREADABLE", `${path}: waivers[${i}].${field} must be a non-empty string`);
    }
    if (w.reason!.length < 20)
      throw new CliInputError("INPUT_UNREADABLE", `${path}: waivers[${i}].reason must say why (got '${w.reason}')`);
    new RegExp(w.resources!);
    return w as Waiver;
  });
}

/** Runs checkov over `<dir>/stacks` (or `dir`), then applies the waivers. */
export async function checkovReport(dir: string, waivers: Waiver[], checkov = defaultCheckov): Promise<CheckovReport> {
  const stacks = existsSync(join(dir, "stacks")) ? join(dir, "stacks") : dir;
  const out = await run(checkov, ["-d", stacks, "--framework", "terraform_json", "-o", "json", "--quiet", "--compact", "--skip-download"], {
    maxBuffer: 256 << 20,
    env: { ...process.env, BC_SKIP_MAPPING: "TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2: "false", LOG_LEVEL: "ERROR" },
  }).catch((err: { stdout?: string; message: string }) => {
    if (err.stdout) return { stdout: err.stdout }; // checkov exits 1 when a check fails, with its JSON on stdout
    throw new CliInputError("TOOL_MISSING", `checkov could not run (${checkov}): ${err.message}`);
  });
  const parsed = JSON.parse(out.stdout) as unknown;
  const results = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{
    summary: { passed: number };
    results: { failed_checks: Array<{ check_id: string; check_name: string; resource: string; file_path: string }> };
  }>;
  const report: CheckovReport = { passed: 0, failed: [], waived: [], unused: [] };
  const used = new Set<Waiver>();
  for (const r of results) {
    report.passed += r.summary.passed;
    for (const f of r.results.failed_checks) {
      const finding = {
        check: f.check_id,
        title: f.check_name,
        resource: f.resource,
        stack: f.file_path.split("/").filter(Boolean)[0] ?? "",
      };
      const waiver = waivers.find((w) => w.check === finding.check && new RegExp(w.resources).test(finding.resource));
      if (waiver) {
        used.add(waiver);
        report.waived.push({ ...finding, reason: waiver.reason });
      } else report.failed.push(finding);
    }
  }
  report.unused = waivers.filter((w) => !used.has(w));
  return report;
}

const usage = `usage: npm run -s checkov:check -- <synth-output-dir> [--checkov PATH] [--format text|json]
exit: 0 every finding fixed or waived, 1 an unwaived finding or an unused waiver, 2 bad usage or no checkov`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { checkov: { type: "string" }, format: { type: "string" } }, { positionals: true });
  if (positionals.length !== 1) throw new UsageError("expected one <synth-output-dir>");
  const format = oneOf("--format", values.format, ["text", "json"]) ?? "text";
  const checkov = values.checkov ?? defaultCheckov;
  if (!existsSync(checkov))
    throw new CliInputError("TOOL_MISSING", `checkov not found at ${checkov} (run: bash tools/install/tools.sh checkov)`);
  const report = await checkovReport(positionals[0], readWaivers(), checkov);
  if (format === "json") process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const ok = report.failed.length === 0 && report.unused.length === 0;
    process.stdout.write(
      `checkov: ${ok ? "PASS" : "FAIL"}: ${report.passed} passed, ${report.failed.length} failed, ${report.waived.length} waived\n`,
    );
    for (const f of report.failed) process.stdout.write(`FAIL   ${f.check} [${f.stack}] ${f.resource}: ${f.title}\n`);
    for (const f of report.waived) process.stdout.write(`WAIVED ${f.check} [${f.stack}] ${f.resource}: ${f.reason}\n`);
    for (const w of report.unused) process.stdout.write(`UNUSED waiver ${w.check} ${w.resources}: remove it (no finding matches)\n`);
  }
  return report.failed.length || report.unused.length ? 1 : 0;
}

// A missing checkov or unreadable input is 2, as bad usage; 1 means findings.
if (require.main === module) void runCli({ tool: "checkov:check", usage, main, exitCode: () => 2 });
