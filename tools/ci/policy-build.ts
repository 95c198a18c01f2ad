// `npm run policy:build [-- --check]`: compiles policies/ with the pinned OPA into the wasm bundle the
// project ships (policies/dist/bundle.tar.gz), with the rule catalog from the rules' METADATA as data.
// --check builds into a temporary file and compares the contained files with the shipped bundle
// (contents, not tar bytes), exiting 1 when they differ: CI's "the shipped bundle is the sources".
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative, resolve } from "node:path";
import type { RuleInfo } from "../../policy-engine/bundle";
import { readTarGz } from "../../policy-engine/tar";
import { parseCli, runCli, UsageError } from "../../lib/cli";
import { MaestroError } from "../../lib/errors";

const root = join(__dirname, "..", "..");
const policiesDir = join(root, "policies");

interface BundleConfig {
  opaVersion: string;
  target: "wasm";
  entrypoint: string;
  output: string;
}

const usage = `usage: npm run policy:build [-- --check] [--out <file>]

Compiles policies/ (without *_test.rego) with opa ${"$"}{policies/bundle.json opaVersion} into
policies/dist/bundle.tar.gz (or --out).
  --check   build into a temporary file and compare its files with the shipped bundle; exit 1 if they differ
exit: 0 ok, 1 check failed or opa failed, 2 bad usage or missing/wrong opa`;

/** .tools/bin/opa, then PATH. */
export function findOpa(): string | undefined {
  for (const dir of [join(root, ".tools", "bin"), ...(process.env.PATH ?? "").split(delimiter)]) {
    if (dir && existsSync(join(dir, "opa"))) return join(dir, "opa");
  }
  return undefined;
}

/** opa itself refused (a compile error in a rule, say): exit 1 with its output. */
export class OpaFailedError extends MaestroError<"OPA_FAILED"> {
  constructor(message: string) {
    super("OPA_FAILED", message);
  }
}

function run(opa: string, args: string[], cwd?: string): string {
  const r = spawnSync(opa, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, cwd });
  if (r.status !== 0) throw new OpaFailedError(`opa ${args.join(" ")} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

function regoSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "dist") out.push(...regoSources(path));
    else if (entry.isFile() && entry.name.endsWith(".rego") && !entry.name.endsWith("_test.rego")) out.push(path);
  }
  return out.sort();
}

/** What every deny/warn rule's METADATA carries (`title`, the rest under `custom`): the catalog and the reports read them. */
export const ruleMetadataFields = ["title", "id", "severity", "control", "fix"] as const;

interface InspectAnnotation {
  annotations: { scope?: string; title?: string; description?: string; custom?: Record<string, string> };
  path: Array<{ value: string }>;
}

/** The rule catalog: every deny/warn rule's METADATA; fails on a rule without id, severity, control or fix. */
function catalog(opa: string, stage: string): RuleInfo[] {
  const inspected = JSON.parse(run(opa, ["inspect", "-a", "--format", "json", stage])) as { annotations?: InspectAnnotation[] };
  const rules: RuleInfo[] = [];
  for (const a of inspected.annotations ?? []) {
    const path = a.path.slice(1).map((p) => p.value);
    const kind = path[path.length - 1];
    if (a.annotations.scope !== "rule" || (kind !== "deny" && kind !== "warn")) continue;
    const custom = a.annotations.custom ?? {};
    const values: Record<string, string | undefined> = { ...custom, title: a.annotations.title };
    const missing = ruleMetadataFields.filter((k) => !values[k]);
    if (missing.length > 0) throw new UsageError(`a ${kind} rule in ${path.slice(0, -1).join(".")} lacks METADATA ${missing.join(", ")}`);
    const twin = rules.find((r) => r.id === custom.id);
    if (twin)
      throw new UsageError(`${custom.id} has METADATA twice (${twin.package} and ${path.slice(0, -1).join(".")}): one rule body per id`);
    rules.push({
      id: custom.id,
      kind,
      title: a.annotations.title!,
      ...(a.annotations.description ? { description: a.annotations.description.trim() } : {}),
      severity: custom.severity,
      control: custom.control,
      fix: custom.fix,
      package: path.slice(0, -1).join("."),
    });
  }
  return rules.sort((a, b) => a.id.localeCompare(b.id));
}

/** Builds the bundle from `sources` (policies/ unless a test plants its own) into `out`; returns the revision and the rule count. */
export function buildBundle(out: string, sources = policiesDir): { revision: string; rules: number } {
  const config = JSON.parse(readFileSync(join(policiesDir, "bundle.json"), "utf8")) as BundleConfig;
  const opa = findOpa();
  if (!opa) throw new UsageError(`opa not found in .tools/bin or PATH: run tools/install/tools.sh opa (v${config.opaVersion})`);
  const version = /^Version: (\S+)/m.exec(run(opa, ["version"]))?.[1];
  if (version !== config.opaVersion) throw new UsageError(`${opa} is version ${version}; policies/bundle.json pins ${config.opaVersion}`);

  const stage = mkdtempSync(join(tmpdir(), "maestro-policy-build-"));
  try {
    const digest = createHash("sha256");
    for (const file of regoSources(sources)) {
      const rel = relative(sources, file);
      mkdirSync(dirname(join(stage, rel)), { recursive: true });
      cpSync(file, join(stage, rel));
      digest.update(`${rel}\0${readFileSync(file, "utf8")}\0`);
    }
    const rules = catalog(opa, stage);
    mkdirSync(join(stage, "maestro", "catalog"), { recursive: true });
    writeFileSync(join(stage, "maestro", "catalog", "data.json"), JSON.stringify({ rules }));
    digest.update(JSON.stringify(rules));
    const revision = `sha256:${digest.digest("hex").slice(0, 16)}`;
    mkdirSync(dirname(out), { recursive: true });
    // Run inside the stage with a relative root, so no temporary path ends up in the bundle.
    run(opa, ["build", "-t", config.target, "-e", config.entrypoint, "-r", revision, "-b", ".", "-o", resolve(out)], stage);
    return { revision, rules: rules.length };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** File-by-file differences between two bundles (names, then contents). */
export function compareBundles(expected: Buffer, actual: Buffer): string[] {
  const a = new Map(readTarGz(expected).map((f) => [f.name, f.data]));
  const b = new Map(readTarGz(actual).map((f) => [f.name, f.data]));
  const problems: string[] = [];
  for (const [name, data] of a) {
    if (!b.has(name)) problems.push(`${name}: missing from the shipped bundle`);
    else if (!data.equals(b.get(name)!)) problems.push(`${name}: differs from what the sources build`);
  }
  for (const name of b.keys()) if (!a.has(name)) problems.push(`${name}: in the shipped bundle but not built from the sources`);
  return problems;
}

function main(argv: string[]): number {
  const { values } = parseCli(argv, { check: { type: "boolean" }, out: { type: "string" } });
  const check = values.check ?? false;
  const out = values.out ?? join(policiesDir, "dist", "bundle.tar.gz");
  if (!check) {
    const { revision, rules } = buildBundle(out);
    process.stdout.write(`policy:build: ${relative(process.cwd(), out)} (${rules} rules, revision ${revision})\n`);
    return 0;
  }
  if (!existsSync(out)) {
    process.stderr.write(`policy:build --check: ${out} does not exist; run npm run policy:build and commit it\n`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), "maestro-policy-check-"));
  try {
    const fresh = join(dir, "bundle.tar.gz");
    buildBundle(fresh);
    const problems = compareBundles(readFileSync(fresh), readFileSync(out));
    if (problems.length > 0) {
      process.stderr.write(
        `policy:build --check: the shipped bundle is not what the sources build; run npm run policy:build and commit it\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
      );
      return 1;
    }
    process.stdout.write(`policy:build --check: ${relative(process.cwd(), out)} matches the sources\n`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) void runCli({ tool: "policy:build", usage, main });
