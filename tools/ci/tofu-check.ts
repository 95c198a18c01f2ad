// `npm run -s tofu:check -- <synth-output-dir> [--tofu PATH] [--format text|json]`: every string of every
// stack read by OpenTofu's own parser, the way `tofu plan` will read it.
//
// `tofu validate` decodes a resource's attributes only against its provider's schema, and no provider
// binary can be had here. So each resource body and each output value becomes a `locals` value, which
// OpenTofu decodes without any schema: every string in it is parsed as a template, exactly as in a
// resource attribute. The only diagnostics allowed are references to resources that the stack
// declares (they are not declared in the locals-only copy); any other error is a defect.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { CliInputError, oneOf, parseCli, runCli, UsageError } from "../../lib/cli";

const run = promisify(execFile);

/** The pinned OpenTofu of `tools/install/tools.sh tofu`. */
export const defaultTofu = resolve(__dirname, "..", "..", ".tools", "bin", "tofu");

/** One OpenTofu error: where it is in the stack and what OpenTofu says. */
export interface TofuFinding {
  stack: string;
  /** `resource.<type>.<name>` or `output.<name>`. */
  address: string;
  summary: string;
  detail: string;
}

export interface TofuStackResult {
  stack: string;
  /** Strings OpenTofu parsed (every string value of every resource and output). */
  strings: number;
  findings: TofuFinding[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface StackJson {
  resource?: Record<string, Record<string, Record<string, Json>>>;
  data?: Record<string, Record<string, Json>>;
  output?: Record<string, { value?: Json }>;
}

// Meta-arguments are decoded by OpenTofu's config loader on the real stack too; they hold
// references written as plain strings (depends_on), which are not templates.
const metaArguments = new Set(["depends_on", "provider", "lifecycle", "count", "for_each", "connection", "provisioner", "//"]);

function countStrings(value: Json): number {
  if (typeof value === "string") return 1;
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + countStrings(v), 0);
  if (value && typeof value === "object") return Object.values(value).reduce<number>((n, v) => n + countStrings(v), 0);
  return 0;
}

/** The locals-only copy of a stack, and which local (by byte range) came from which address. */
function localsOf(stack: StackJson): { text: string; spans: Array<{ address: string; from: number; to: number }>; strings: number } {
  const entries: Array<[string, string, Json]> = [];
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) {
      const attributes = Object.fromEntries(Object.entries(body).filter(([k]) => !metaArguments.has(k)));
      entries.push([`resource.${type}.${name}`, `r${entries.length}`, attributes]);
    }
  }
  for (const [name, out] of Object.entries(stack.output ?? {})) {
    if (out.value !== undefined) entries.push([`output.${name}`, `r${entries.length}`, out.value]);
  }
  // One local per line, so an error's byte offset names the local it is in.
  const spans: Array<{ address: string; from: number; to: number }> = [];
  let text = '{"locals": {\n';
  entries.forEach(([address, local, value], i) => {
    const line = `${JSON.stringify(local)}: ${JSON.stringify(value)}${i < entries.length - 1 ? "," : ""}\n`;
    const from = Buffer.byteLength(text);
    text += line;
    spans.push({ address, from, to: Buffer.byteLength(text) });
  });
  text += "}}\n";
  return { text, spans, strings: entries.reduce((n, [, , v]) => n + countStrings(v), 0) };
}

interface TofuDiagnostic {
  severity: string;
  summary: string;
  detail?: string;
  range?: { start: { byte: number } };
}

/** A "reference to undeclared resource" whose resource the real stack declares is not a finding. */
function declaredReference(stack: StackJson, d: TofuDiagnostic): boolean {
  if (d.summary !== "Reference to undeclared resource") return false;
  const managed = /A managed resource "([^"]+)" "([^"]+)" has not been declared/.exec(d.detail ?? "");
  if (managed) return stack.resource?.[managed[1]]?.[managed[2]] !== undefined;
  const data = /A data resource "([^"]+)" "([^"]+)" has not been declared/.exec(d.detail ?? "");
  if (data) return stack.data?.[data[1]]?.[data[2]] !== undefined;
  return false;
}

/** Runs OpenTofu's parser over one stack's cdk.tf.json. */
export async function checkStack(name: string, stack: StackJson, tofu = defaultTofu): Promise<TofuStackResult> {
  const { text, spans, strings } = localsOf(stack);
  const dir = mkdtempSync(join(tmpdir(), "maestro-tofu-"));
  try {
    writeFileSync(join(dir, "main.tf.json"), text);
    const env = { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
    const out = await run(tofu, ["validate", "-json", "-no-color"], { cwd: dir, env, maxBuffer: 64 << 20 }).catch(
      (err: { stdout?: string; message: string }) => {
        if (err.stdout) return { stdout: err.stdout }; // validate exits 1 on errors, with its JSON on stdout
        throw new CliInputError("TOOL_MISSING", `tofu validate could not run (${tofu}): ${err.message}`);
      },
    );
    const result = JSON.parse(out.stdout) as { diagnostics: TofuDiagnostic[] };
    const findings = result.diagnostics
      .filter((d) => d.severity === "error" && !declaredReference(stack, d))
      .map((d) => {
        const at = d.range?.start.byte;
        const span = at === undefined ? undefined : spans.find((s) => at >= s.from && at < s.to);
        return { stack: name, address: span?.address ?? "(stack)", summary: d.summary, detail: (d.detail ?? "").trim() };
      });
    return { stack: name, strings, findings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The stacks under a synth output directory (cdktf.out, or its stacks/ folder). */
export function readStacks(dir: string): Array<{ name: string; json: StackJson }> {
  const stacksDir = existsSync(join(dir, "stacks")) ? join(dir, "stacks") : dir;
  const names = existsSync(stacksDir) ? readdirSync(stacksDir).filter((n) => existsSync(join(stacksDir, n, "cdk.tf.json"))) : [];
  if (names.length === 0)
    throw new CliInputError("INPUT_UNREADABLE", `${dir}: no stacks (expected <dir>/stacks/<stack>/cdk.tf.json; run npm run synth first)`);
  return names.sort().map((name) => {
    const file = join(stacksDir, name, "cdk.tf.json");
    try {
      return { name, json: JSON.parse(readFileSync(file, "utf8")) as StackJson };
    } catch (err) {
      throw new CliInputError("INPUT_UNREADABLE", `${file}: ${(err as Error).message}`);
    }
  });
}

const usage = `usage: npm run -s tofu:check -- <synth-output-dir> [--tofu PATH] [--format text|json]

Reads every string of every stack with OpenTofu's parser (see tools/ci/tofu-check.ts for how).
exit: 0 every stack parses, 1 OpenTofu reports errors, 2 bad usage, missing tofu or unreadable input`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { tofu: { type: "string" }, format: { type: "string" } }, { positionals: true });
  if (positionals.length !== 1) throw new UsageError("expected one <synth-output-dir>");
  const format = oneOf("--format", values.format, ["text", "json"]) ?? "text";
  const tofu = values.tofu ?? defaultTofu;
  if (!existsSync(tofu)) throw new CliInputError("TOOL_MISSING", `OpenTofu not found at ${tofu} (run: bash tools/install/tools.sh tofu)`);
  const stacks = readStacks(positionals[0]);
  const results: TofuStackResult[] = [];
  for (const s of stacks) results.push(await checkStack(s.name, s.json, tofu));
  const findings = results.flatMap((r) => r.findings);
  if (format === "json") process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
  else {
    for (const r of results) {
      process.stdout.write(`${r.findings.length ? "FAIL" : "PASS"} ${r.stack}: ${r.strings} strings parsed by OpenTofu\n`);
      for (const f of r.findings) process.stdout.write(`  ${f.address}: ${f.summary}\n    ${f.detail.replace(/\n/g, "\n    ")}\n`);
    }
  }
  return findings.length ? 1 : 0;
}

// A missing OpenTofu or unreadable input is 2, as bad usage; 1 means findings.
if (require.main === module) void runCli({ tool: "tofu:check", usage, main, exitCode: () => 2 });
