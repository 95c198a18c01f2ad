import { parse as parseYaml } from "yaml";
import { maskDeep } from "./mask";
import { fieldCategories, resourceCategories, sortCategories } from "./security";
import type { FieldChange, ResourceAction, ResourceChange, StackDiff, StackJson, StackStatus, SynthDiff, SynthOutput } from "./model";

/** One addressable thing of a stack: a resource, data source, output, provider, or the terraform block. */
export interface StackEntry {
  address: string;
  /** Terraform type (`kubernetes_manifest`, `data.aws_iam_policy_document`), or the block kind (`output`, `provider`). */
  type: string;
  /** Kubernetes kind of a kubernetes_manifest. */
  kind?: string;
  label?: string;
  body: unknown;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** cdktf's "//" metadata (construct paths, unique ids) is not part of what Terraform applies. */
export function stripMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripMetadata);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "//")
        .map(([k, v]) => [k, stripMetadata(v)]),
    );
  }
  return value;
}

/** Every addressable entry of a stack, keyed by Terraform address. */
export function stackEntries(stack: StackJson): Map<string, StackEntry> {
  const entries = new Map<string, StackEntry>();
  const add = (address: string, type: string, body: unknown) => entries.set(address, makeEntry(address, type, stripMetadata(body)));
  for (const [block, value] of Object.entries(stack)) {
    if (block === "//" || value === undefined) continue;
    const group = value as Record<string, unknown>;
    if (block === "resource" || block === "data") {
      for (const [type, byName] of Object.entries(group ?? {})) {
        for (const [name, body] of Object.entries((byName ?? {}) as Record<string, unknown>)) {
          const t = block === "data" ? `data.${type}` : type;
          add(`${t}.${name}`, t, body);
        }
      }
    } else if (block === "provider") {
      for (const [name, configs] of Object.entries(group ?? {})) {
        for (const config of Array.isArray(configs) ? configs : [configs]) {
          const alias = (config as { alias?: string })?.alias;
          add(alias ? `provider.${name}.${alias}` : `provider.${name}`, "provider", config);
        }
      }
    } else if (block === "output" || block === "variable" || block === "module") {
      for (const [name, body] of Object.entries(group ?? {})) add(`${block}.${name}`, block, body);
    } else if (block === "locals") {
      for (const [name, body] of Object.entries(group ?? {})) add(`local.${name}`, "local", body);
    } else {
      add(block, block, value); // `terraform` (backend, required providers) and anything newer
    }
  }
  return entries;
}

/** An entry from its address, Terraform type and body (metadata already stripped). */
export function makeEntry(address: string, type: string, body: unknown): StackEntry {
  const kind = type === "kubernetes_manifest" ? manifestKind(body) : undefined;
  return { address, type, kind, label: labelOf(type, body), body };
}

function manifestKind(body: unknown): string | undefined {
  const kind = (body as { manifest?: { kind?: unknown } })?.manifest?.kind;
  return typeof kind === "string" ? kind : undefined;
}

/** A short human name for a resource: what it is in the cluster or the cloud. */
function labelOf(type: string, body: unknown): string | undefined {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== "object") return undefined;
  const named = (meta: unknown) => {
    const m = meta as { name?: unknown; namespace?: unknown } | undefined;
    if (!m || typeof m.name !== "string") return undefined;
    return typeof m.namespace === "string" ? `${m.namespace}/${m.name}` : m.name;
  };
  if (type === "kubernetes_manifest") {
    const m = b.manifest as { kind?: string; metadata?: unknown } | undefined;
    const name = named(m?.metadata);
    return m?.kind ? `${m.kind}${name ? ` ${name}` : ""}` : name;
  }
  if (type === "helm_release")
    return `helm chart ${String(b.chart)} ${String(b.version ?? "")}`.trim() + (b.namespace ? ` in ${String(b.namespace)}` : "");
  if (type.startsWith("kubernetes_")) {
    const meta = Array.isArray(b.metadata) ? b.metadata[0] : b.metadata;
    return named(meta);
  }
  // The first of these that is a literal (not a `${reference}`).
  for (const key of ["bucket", "name", "role", "description"])
    if (typeof b[key] === "string" && !(b[key] as string).startsWith("${")) return b[key] as string;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Field-level diff

/** JSON (and, for Helm values, YAML) held in a string becomes structured, so it diffs field by field. */
function decode(value: unknown, path: string, type: string): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if ((text.startsWith("{") && text.endsWith("}")) || (text.startsWith("[") && text.endsWith("]"))) {
    try {
      return JSON.parse(text);
    } catch {
      /* not JSON: fall through */
    }
  }
  if (type === "helm_release" && /^values\[\d+\]$/.test(path) && text.includes(":")) {
    try {
      const parsed = parseYaml(text) as unknown;
      if (parsed && typeof parsed === "object") return parsed;
    } catch {
      /* not YAML either: a plain string */
    }
  }
  return value;
}

const plainKey = /^[A-Za-z_$][\w$-]*$/;
const child = (path: string, key: string) => (plainKey.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || typeof v !== "object";

/** Array elements are matched by one of these identity keys when every element has a unique one. */
const identityKeys = ["name", "Sid", "key", "id"];

function identityKey(...lists: unknown[][]): string | undefined {
  for (const key of identityKeys) {
    const ok = lists.every((list) => {
      if (!list.every((e) => isObject(e) && (typeof e[key] === "string" || typeof e[key] === "number"))) return false;
      const ids = list.map((e) => (e as Record<string, unknown>)[key]);
      return new Set(ids).size === ids.length;
    });
    if (ok && lists.some((l) => l.length > 0)) return key;
  }
  return undefined;
}

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  return JSON.stringify(value) ?? "undefined";
}

type RawChange = { path: string; action: FieldChange["action"]; old?: unknown; new?: unknown };

/** Leaves of a value (embedded JSON decoded, keyed lists by key), for resources added or removed whole. */
function leaves(value: unknown, path: string, type: string, out: Array<[string, unknown]>): void {
  const v = decodeDeep(value, path, type);
  if (Array.isArray(v) && v.length > 0 && !v.every(isScalar)) {
    const key = identityKey(v);
    v.forEach((e, i) => leaves(e, key ? `${path}[${key}=${String((e as Record<string, unknown>)[key])}]` : `${path}[${i}]`, type, out));
  } else if (isObject(v) && Object.keys(v).length > 0) {
    for (const [k, e] of Object.entries(v)) leaves(e, child(path, k), type, out);
  } else {
    out.push([path, v]);
  }
}

/** decode, and for a list also its elements (Helm `values` is a list of JSON strings). */
function decodeDeep(value: unknown, path: string, type: string): unknown {
  const v = decode(value, path, type);
  return Array.isArray(v) ? v.map((e, i) => decode(e, `${path}[${i}]`, type)) : v;
}

function diffValue(a: unknown, b: unknown, path: string, type: string, out: RawChange[]): void {
  const x = decodeDeep(a, path, type);
  const y = decodeDeep(b, path, type);
  if (canonical(x) === canonical(y)) return;
  if (isObject(x) && isObject(y)) {
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    for (const k of keys) {
      // Own keys only: `in` also sees Object.prototype ("constructor", "__proto__", "toString").
      if (!Object.hasOwn(x, k)) out.push({ path: child(path, k), action: "added", new: y[k] });
      else if (!Object.hasOwn(y, k)) out.push({ path: child(path, k), action: "removed", old: x[k] });
      else diffValue(x[k], y[k], child(path, k), type, out);
    }
    return;
  }
  if (Array.isArray(x) && Array.isArray(y) && !(x.every(isScalar) && y.every(isScalar))) {
    const key = identityKey(x, y);
    if (key) {
      const byId = (list: unknown[]) => new Map(list.map((e) => [String((e as Record<string, unknown>)[key]), e]));
      const xs = byId(x);
      const ys = byId(y);
      for (const id of [...new Set([...xs.keys(), ...ys.keys()])]) {
        const p = `${path}[${key}=${id}]`;
        if (!xs.has(id)) out.push({ path: p, action: "added", new: ys.get(id) });
        else if (!ys.has(id)) out.push({ path: p, action: "removed", old: xs.get(id) });
        else diffValue(xs.get(id), ys.get(id), p, type, out);
      }
      return;
    }
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if (i >= x.length) out.push({ path: `${path}[${i}]`, action: "added", new: y[i] });
      else if (i >= y.length) out.push({ path: `${path}[${i}]`, action: "removed", old: x[i] });
      else diffValue(x[i], y[i], `${path}[${i}]`, type, out);
    }
    return;
  }
  out.push({ path, action: "changed", old: x, new: y });
}

/** Categories of a path, and of every leaf inside a subtree added or removed whole. */
function categoriesOf(raw: RawChange, entry: StackEntry): string[] {
  const paths = [raw.path];
  for (const v of [raw.old, raw.new]) {
    if (v && typeof v === "object") {
      const flat: Array<[string, unknown]> = [];
      leaves(v, raw.path, entry.type, flat);
      paths.push(...flat.map(([p]) => p));
    }
  }
  return sortCategories(paths.flatMap((p) => fieldCategories(p, entry.type, entry.kind)));
}

function finish(raw: RawChange, entry: StackEntry): FieldChange {
  const change: FieldChange = { path: raw.path, action: raw.action, security: categoriesOf(raw, entry) };
  // Each side on its own: a secret replaced by "(known after apply)" still shows that it changes.
  let masked = false;
  for (const side of ["old", "new"] as const) {
    if (!(side in raw)) continue;
    const m = maskDeep(raw.path, raw[side], entry.type, entry.kind);
    change[side] = m.value as Json;
    masked ||= m.masked;
  }
  if (masked) change.masked = true;
  return change;
}

/** Field changes between two versions of one entry (either may be absent: added / removed). */
export function diffEntry(base: StackEntry | undefined, head: StackEntry | undefined): ResourceChange | undefined {
  const entry = (head ?? base)!;
  const action: ResourceAction = !base ? "added" : !head ? "removed" : "changed";
  const raw: RawChange[] = [];
  if (action === "changed") diffValue(base!.body, head!.body, "", entry.type, raw);
  else {
    const flat: Array<[string, unknown]> = [];
    leaves(entry.body, "", entry.type, flat);
    for (const [path, value] of flat) raw.push(action === "added" ? { path, action, new: value } : { path, action, old: value });
  }
  if (action === "changed" && raw.length === 0) return undefined;
  // A kind change (Deployment → Rollout) counts for both kinds.
  const kinds = new Set([base?.kind, head?.kind]);
  const fields = raw.map((r) => finish(r, entry));
  const ownCategories = action === "changed" ? [] : [...kinds].flatMap((k) => resourceCategories(entry.type, k));
  if (action === "changed" && base!.kind !== head!.kind)
    ownCategories.push(...[...kinds].flatMap((k) => resourceCategories(entry.type, k)));
  return {
    address: entry.address,
    label: head?.label ?? base?.label,
    action,
    security: sortCategories([...ownCategories, ...fields.flatMap((f) => f.security)]),
    fields,
  };
}

const bySecurityThenAddress = (a: ResourceChange, b: ResourceChange) =>
  Number(b.security.length > 0) - Number(a.security.length > 0) || a.address.localeCompare(b.address);

export function diffStack(stack: string, base: StackJson | undefined, head: StackJson | undefined): StackDiff {
  const b = base ? stackEntries(base) : new Map<string, StackEntry>();
  const h = head ? stackEntries(head) : new Map<string, StackEntry>();
  return diffEntries(stack, b, h, base ? (head ? undefined : "removed") : "added");
}

/** Diff of two sets of entries by address; `status` overrides changed/unchanged for a stack only one side has. */
export function diffEntries(stack: string, b: Map<string, StackEntry>, h: Map<string, StackEntry>, status?: StackStatus): StackDiff {
  const resources: ResourceChange[] = [];
  let unchangedResources = 0;
  for (const address of new Set([...b.keys(), ...h.keys()])) {
    const change = diffEntry(b.get(address), h.get(address));
    if (change) resources.push(change);
    else unchangedResources++;
  }
  resources.sort(bySecurityThenAddress);
  return { stack, status: status ?? (resources.length ? "changed" : "unchanged"), resources, unchangedResources };
}

/** Counts for the summary line. */
export function summarize(stacks: StackDiff[]): SynthDiff["summary"] {
  const summary: SynthDiff["summary"] = {
    stacks: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    resources: { added: 0, removed: 0, changed: 0 },
    securityRelevant: 0,
  };
  for (const s of stacks) {
    summary.stacks[s.status]++;
    for (const r of s.resources) {
      summary.resources[r.action]++;
      if (r.security.length) summary.securityRelevant++;
    }
  }
  return summary;
}

/** The whole diff: every stack of either side, head's deploy order first, then stacks only base has. */
export function diffSynth(base: SynthOutput, head: SynthOutput, names: { base: string; head: string }): SynthDiff {
  const ids = [...new Set([...head.keys(), ...base.keys()])];
  const stacks = ids.map((id) => diffStack(id, base.get(id), head.get(id)));
  return { base: names.base, head: names.head, stacks, summary: summarize(stacks) };
}
