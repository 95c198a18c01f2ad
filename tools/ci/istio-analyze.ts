// `npm run -s istio:analyze -- <synth-output-dir> [--istioctl PATH] [--format text|json]`: Istio's own
// analyzers (`istioctl analyze --use-kube=false`) over the mesh objects of every stack and the
// Namespaces, Services and ServiceAccounts they select or name, as the Terraform provider would send
// them (tools/cluster/stack-objects.ts). A second opinion on the mesh next to our policies: a reference
// to a host, namespace or workload that the stacks do not create is flagged here before it reaches a
// cluster. Nothing talks to a cluster: istioctl reads the files only.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { readSynthOutput } from "../../policy-engine/gate";
import type { TerraformJson } from "../../policy-engine/input";
import type { ApiObject } from "../../policy-engine/typed-kubernetes";
import { stackObjects } from "../cluster/stack-objects";
import { CliInputError, oneOf, parseCli, runCli, UsageError, type CliIo } from "../../lib/cli";

const run = promisify(execFile);

/** The pinned istioctl of `tools/install/tools.sh istioctl`. */
export const defaultIstioctl = resolve(__dirname, "..", "..", ".tools", "bin", "istioctl");

/** The kinds istioctl analyzes or resolves references against; everything else of the stacks is left out. */
const analyzedKinds = new Set(["Namespace", "Service", "ServiceAccount", "StatefulSet", "Deployment", "Rollout", "CronJob"]);
const isMeshObject = (o: ApiObject) => /\.istio\.io\//.test(o.apiVersion) || analyzedKinds.has(o.kind);

/** One message of an Istio analyzer. */
export interface IstioFinding {
  /** IST0101 and the like (https://istio.io/latest/docs/reference/config/analysis/), or UNREADABLE: istioctl skipped the object. */
  code: string;
  level: string;
  /** `Kind name.namespace` of the object the message is about. */
  origin: string;
  message: string;
}

interface AnalyzeMessage {
  code?: string;
  level?: string;
  origin?: string;
  message?: string;
}

/** The mesh objects of the stacks and their workloads, as istioctl would read them from a cluster. */
export function meshObjects(stacks: Array<[string, TerraformJson]>): ApiObject[] {
  return stacks.flatMap(([, tf]) => stackObjects(tf).objects.map((o) => o.object)).filter(isMeshObject);
}

/** `istioctl analyze --use-kube=false --all-namespaces` over the objects; every message, Info included. */
export async function analyzeObjects(objects: ApiObject[], istioctl = defaultIstioctl): Promise<IstioFinding[]> {
  if (!existsSync(istioctl)) throw new Error(`istioctl not found at ${istioctl} (run: bash tools/install/tools.sh istioctl)`);
  const dir = mkdtempSync(join(tmpdir(), "maestro-istio-analyze-"));
  try {
    const file = join(dir, "mesh.yaml");
    writeFileSync(file, objects.map((o) => stringify(o)).join("---\n"));
    // Exit codes: 0 nothing at or above the failure threshold, 79 errors, 80 warnings (istioctl's own).
    const args = ["analyze", "--use-kube=false", "--all-namespaces", "--output", "json", "--failure-threshold", "Info", file];
    const out = await run(istioctl, args, { env: { ...process.env, HOME: dir }, maxBuffer: 64 << 20 }).catch(
      (err: { stdout?: string; stderr?: string; code?: number }) => {
        if (err.stdout?.includes("[")) return { stdout: err.stdout };
        throw new Error(`istioctl analyze failed (exit ${String(err.code)}): ${(err.stderr ?? "").slice(-1000)}`);
      },
    );
    // A document istioctl cannot even read (an unknown enum value, a wrong type) is logged and skipped
    // before any analyzer runs: it is a finding too, named by the object it came from.
    const lines = out.stdout.split("\n");
    const skipped = lines.flatMap((line) => {
      const m = /\terror processing .*\[(\d+)\]: (.*?)(?: - skipping)?$/.exec(line);
      if (!m) return [];
      const o = objects[Number(m[1])];
      const origin = o ? `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}` : `document ${m[1]}`;
      return [{ code: "UNREADABLE", level: "Error", origin, message: m[2] }];
    });
    const start = lines.findIndex((line) => line.startsWith("["));
    const messages = (start < 0 ? [] : JSON.parse(lines.slice(start).join("\n"))) as AnalyzeMessage[];
    return [
      ...skipped,
      ...messages.map((m) => ({ code: m.code ?? "?", level: m.level ?? "?", origin: m.origin ?? "?", message: m.message ?? "" })),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const usage = `usage: npm run -s istio:analyze -- <synth-output-dir> [--istioctl PATH] [--format text|json]

Runs istioctl analyze (no cluster) over the mesh objects of every stack and the workloads they select.
exit: 0 no message, 1 istioctl reported messages, 2 bad usage, missing istioctl or unreadable input`;

async function main(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCli(argv, { istioctl: { type: "string" }, format: { type: "string" } }, { positionals: true });
  if (positionals.length !== 1) throw new UsageError("expected one <synth-output-dir>");
  const format = oneOf("--format", values.format, ["text", "json"]) ?? "text";
  const istioctl = values.istioctl ?? defaultIstioctl;
  if (!existsSync(istioctl))
    throw new CliInputError("TOOL_MISSING", `istioctl not found at ${istioctl} (run: bash tools/install/tools.sh istioctl)`);
  const objects = meshObjects(readSynthOutput(positionals[0]));
  const findings = await analyzeObjects(objects, istioctl);
  if (format === "json") io.out(`${JSON.stringify({ objects: objects.length, findings }, null, 2)}\n`);
  else {
    io.out(`${findings.length ? "FAIL" : "PASS"}: istioctl analyze over ${objects.length} objects, ${findings.length} messages\n`);
    for (const f of findings) io.out(`  ${f.level} ${f.code} ${f.origin}: ${f.message}\n`);
  }
  return findings.length ? 1 : 0;
}

// A missing istioctl or unreadable input is 2, as bad usage; 1 means messages.
if (require.main === module) void runCli({ tool: "istio:analyze", usage, main, exitCode: () => 2 });
