import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type StackJson, type SynthOutput } from "./model";
import { UsageError } from "../../../lib/cli";

interface CdktfManifest {
  stacks?: Record<string, { synthesizedStackPath?: string; dependencies?: string[] }>;
}

/**
 * Reads a synth output directory (`cdktf.out`, or anything with `stacks/<id>/cdk.tf.json`) into
 * stack id → Terraform JSON, in deploy order (dependencies first) when manifest.json says it.
 * `side` ("base" / "head") names the argument in errors.
 */
export function readSynthDir(dir: string, side: string): SynthOutput {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`${side}: ${dir} is not a directory (expected a cdktf.out folder)`);
  const stacksDir = join(dir, "stacks");
  if (!existsSync(stacksDir))
    throw new UsageError(`${side}: ${dir} has no stacks/ folder (expected a cdktf.out folder with stacks/<id>/cdk.tf.json)`);
  const ids = readdirSync(stacksDir).filter((id) => existsSync(join(stacksDir, id, "cdk.tf.json")));
  if (ids.length === 0) throw new UsageError(`${side}: ${stacksDir} holds no <id>/cdk.tf.json`);

  const out: SynthOutput = new Map();
  for (const id of deployOrder(ids, readManifest(dir))) {
    const file = join(stacksDir, id, "cdk.tf.json");
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new UsageError(`${side}: ${file} is not valid JSON (${(err as Error).message})`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw new UsageError(`${side}: ${file} is not a Terraform JSON object`);
    out.set(id, parsed as StackJson);
  }
  return out;
}

function readManifest(dir: string): CdktfManifest {
  try {
    return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as CdktfManifest;
  } catch {
    return {};
  }
}

/**
 * Dependencies first (Kahn's algorithm). Among stacks that are ready together, the one more stacks
 * depend on comes first, then alphabetical: for this repo that is exactly the deploy order.
 */
function deployOrder(ids: string[], manifest: CdktfManifest): string[] {
  const deps = new Map(ids.map((id) => [id, new Set((manifest.stacks?.[id]?.dependencies ?? []).filter((d) => ids.includes(d)))]));
  const dependents = (id: string) => ids.filter((other) => deps.get(other)!.has(id)).length;
  const order: string[] = [];
  while (order.length < ids.length) {
    const ready = ids
      .filter((id) => !order.includes(id) && [...deps.get(id)!].every((d) => order.includes(d)))
      .sort((a, b) => dependents(b) - dependents(a) || a.localeCompare(b));
    if (ready.length === 0) {
      order.push(...ids.filter((id) => !order.includes(id)).sort()); // a cycle: keep going, alphabetically
      break;
    }
    order.push(ready[0]);
  }
  return order;
}
