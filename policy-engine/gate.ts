// The policy gate: every stack's Terraform JSON through every rule, as one report. Used by synth
// (main.ts), `npm run policy:check`, the tests and the PR summary.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Violation } from "../contracts/violation";
import type { GateResult, PolicyBundle, RuleInfo } from "./bundle";
import { normalizeStack, type PolicyParameters, type TerraformJson } from "./input";
import { MaestroError } from "../lib/errors";

export interface GateReport {
  /** Every deny, in stack order. Non-empty means the gate fails. */
  violations: Violation[];
  warnings: Violation[];
  /** (stack, deny rule) pairs without a violation. */
  passed: number;
  stacks: string[];
  rules: RuleInfo[];
}

/** Evaluates the bundle over stacks (id → Terraform JSON), in the order given. */
export function runGate(bundle: PolicyBundle, stacks: ReadonlyArray<[string, TerraformJson]>, parameters: PolicyParameters): GateReport {
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  let passed = 0;
  const denyRules = bundle.catalog.filter((r) => r.kind === "deny");
  for (const [id, tf] of stacks) {
    const result: GateResult = bundle.evaluate(normalizeStack(id, tf, parameters));
    const sort = (vs: Violation[]) =>
      [...vs].sort((a, b) => a.rule.localeCompare(b.rule) || a.resource.localeCompare(b.resource) || a.message.localeCompare(b.message));
    violations.push(...sort(result.deny));
    warnings.push(...sort(result.warn));
    const failed = new Set(result.deny.map((v) => v.rule));
    passed += denyRules.filter((r) => !failed.has(r.id)).length;
  }
  return { violations, warnings, passed, stacks: stacks.map(([id]) => id), rules: bundle.catalog };
}

/** A problem with the synth output directory: the CLI exits 2 on it. */
export class SynthOutputError extends MaestroError<"SYNTH_OUTPUT_UNREADABLE"> {
  constructor(message: string) {
    super("SYNTH_OUTPUT_UNREADABLE", message);
  }
}

/**
 * Reads cdktf.out (or its stacks/ folder): every stacks/<id>/cdk.tf.json, in the order of
 * cdktf's manifest.json when present, else by name.
 */
export function readSynthOutput(dir: string): Array<[string, TerraformJson]> {
  const stacksDir = existsSync(join(dir, "stacks")) ? join(dir, "stacks") : dir;
  if (!existsSync(stacksDir)) throw new SynthOutputError(`${dir}: no such directory`);
  let ids: string[];
  const manifestPath = join(stacksDir, "..", "manifest.json");
  try {
    const manifest = existsSync(manifestPath)
      ? (JSON.parse(readFileSync(manifestPath, "utf8")) as { stacks?: Record<string, unknown> })
      : {};
    ids = manifest.stacks ? Object.keys(manifest.stacks) : [];
  } catch {
    ids = [];
  }
  if (ids.length === 0 || ids.some((id) => !existsSync(join(stacksDir, id, "cdk.tf.json")))) {
    ids = readdirSync(stacksDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(stacksDir, d.name, "cdk.tf.json")))
      .map((d) => d.name)
      .sort();
  }
  if (ids.length === 0) throw new SynthOutputError(`${dir}: no stacks/<id>/cdk.tf.json found (run npm run synth first)`);
  return ids.map((id) => {
    const file = join(stacksDir, id, "cdk.tf.json");
    try {
      return [id, JSON.parse(readFileSync(file, "utf8")) as TerraformJson];
    } catch (err) {
      throw new SynthOutputError(`${file}: not readable JSON (${(err as Error).message})`);
    }
  });
}

/** The environment a synth output was made for, from the AWS provider's default tags. */
export function detectEnvironment(stacks: ReadonlyArray<[string, TerraformJson]>): string | undefined {
  for (const [, tf] of stacks) {
    const aws = (tf.provider?.aws as Array<{ default_tags?: Array<{ tags?: Record<string, string> }> }> | undefined) ?? [];
    for (const p of aws) for (const t of p.default_tags ?? []) if (t.tags?.environment) return t.tags.environment;
  }
  return undefined;
}
