import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { diffEntries, makeEntry, summarize, type StackEntry } from "./diff";
import { maskedValue } from "./mask";
import { type StackDiff, type SynthDiff } from "./model";
import { UsageError } from "../../../lib/cli";

// `terraform show -json <planfile>` (and `tofu show -json`): the fields this reads.
interface PlanChange {
  actions: string[];
  before?: unknown;
  after?: unknown;
  after_unknown?: unknown;
  before_sensitive?: unknown;
  after_sensitive?: unknown;
}
interface PlanJson {
  format_version?: string;
  resource_changes?: Array<{ address: string; mode?: string; type: string; change: PlanChange }>;
  output_changes?: Record<string, PlanChange>;
}

const unknownValue = "(known after apply)";

/** Overlays a sensitivity (or unknown) mirror: `true` at a position replaces the value there. */
function overlay(value: unknown, marks: unknown, replacement: string): unknown {
  if (marks === true) return replacement === unknownValue || (value !== null && value !== undefined) ? replacement : value;
  if (!marks || typeof marks !== "object") return value;
  if (Array.isArray(marks)) {
    const list = Array.isArray(value) ? [...value] : [];
    marks.forEach((m, i) => (list[i] = overlay(list[i], m, replacement)));
    return list;
  }
  const out: Record<string, unknown> = value && typeof value === "object" && !Array.isArray(value) ? { ...value } : {};
  for (const [k, m] of Object.entries(marks)) {
    const v = overlay(out[k], m, replacement);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const side = (value: unknown, sensitive: unknown, unknown?: unknown) =>
  overlay(overlay(value, sensitive, maskedValue), unknown, unknownValue);

function planStack(stack: string, plan: PlanJson): StackDiff {
  const base = new Map<string, StackEntry>();
  const head = new Map<string, StackEntry>();
  const put = (address: string, type: string, c: PlanChange) => {
    const actions = c.actions.join(",");
    if (actions === "no-op" || actions === "read") {
      const entry = makeEntry(address, type, side(c.after, c.after_sensitive));
      base.set(address, entry);
      head.set(address, entry);
      return;
    }
    if (c.actions.includes("delete") || c.actions.includes("update"))
      base.set(address, makeEntry(address, type, side(c.before, c.before_sensitive)));
    if (c.actions.includes("create") || c.actions.includes("update"))
      head.set(address, makeEntry(address, type, side(c.after, c.after_sensitive, c.after_unknown)));
  };
  const replaced = new Set<string>();
  for (const rc of plan.resource_changes ?? []) {
    put(rc.address, rc.mode === "data" ? `data.${rc.type}` : rc.type, rc.change);
    if (rc.change.actions.includes("create") && rc.change.actions.includes("delete")) replaced.add(rc.address);
  }
  for (const [name, c] of Object.entries(plan.output_changes ?? {})) put(`output.${name}`, "output", c);
  const diff = diffEntries(stack, base, head);
  for (const r of diff.resources) if (replaced.has(r.address)) r.replace = true;
  return diff;
}

/** Reads `[<stack>=]<plan.json>` arguments (one plan per stack) into one diff. */
export function readPlans(args: string[]): { diff: SynthDiff } {
  const stacks = args.map((arg) => {
    const eq = arg.indexOf("=");
    const [stack, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [basename(arg).replace(/\.json$/, ""), arg];
    let plan: PlanJson;
    try {
      plan = JSON.parse(readFileSync(file, "utf8")) as PlanJson;
    } catch (err) {
      throw new UsageError(
        `--plan ${file}: cannot read a JSON plan (${(err as Error).message}); make one with \`terraform show -json <planfile>\``,
      );
    }
    if (!plan || typeof plan !== "object" || !plan.format_version || !Array.isArray(plan.resource_changes ?? [])) {
      throw new UsageError(`--plan ${file}: not \`terraform show -json\` output (no format_version / resource_changes)`);
    }
    for (const [i, rc] of (plan.resource_changes ?? []).entries()) {
      if (typeof rc?.address !== "string" || !Array.isArray(rc?.change?.actions))
        throw new UsageError(`--plan ${file}: resource_changes[${i}] has no address or change.actions`);
    }
    return planStack(stack, plan);
  });
  return { diff: { base: "current state", head: args.length === 1 ? "plan" : `${args.length} plans`, stacks, summary: summarize(stacks) } };
}
