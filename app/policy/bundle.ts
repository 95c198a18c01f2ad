// A policy bundle ready to evaluate: the wasm module compiled by `opa build -t wasm`, its data
// (which carries the rule catalog built from the rules' METADATA) and its manifest.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BundleError } from "./errors";
import type { PolicyInput } from "./input";
import { readTarGz } from "./tar";

/** The bundle the repository ships (built by `npm run policy:build`, unsigned). */
export const shippedBundlePath = join(__dirname, "..", "..", "policies", "dist", "bundle.tar.gz");

/** The entrypoint every bundle of this project exposes. */
export const gateEntrypoint = "maestro/gate/result";

/** One rule as its METADATA describes it. */
export interface RuleInfo {
  id: string;
  /** deny fails the gate; warn is reported only. */
  kind: "deny" | "warn";
  title: string;
  description?: string;
  severity: string;
  control: string;
  fix: string;
  package: string;
}

/** One result of a rule, as the Rego rules build it (policies/maestro/lib/lib.rego). */
export interface Violation {
  rule: string;
  /** `<rule> <resource>: <message>`: the line `conftest test` prints for this result. */
  msg: string;
  title: string;
  severity: string;
  control: string;
  fix: string;
  stack: string;
  resource: string;
  message: string;
}

export interface GateResult {
  deny: Violation[];
  warn: Violation[];
}

export interface PolicyBundle {
  /** The manifest's revision (a digest of the policy sources). */
  revision: string;
  catalog: RuleInfo[];
  evaluate(input: PolicyInput): GateResult;
}

interface Manifest {
  revision?: string;
  wasm?: Array<{ entrypoint: string; module: string }>;
}

const invalid = (message: string) => new BundleError("BUNDLE_INVALID", message);

function parseJsonFile<T>(files: ReadonlyMap<string, Buffer>, name: string): T {
  const data = files.get(name);
  if (!data) throw invalid(`the bundle has no ${name}`);
  try {
    return JSON.parse(data.toString("utf8")) as T;
  } catch {
    throw invalid(`${name} is not JSON`);
  }
}

/** Instantiates a bundle from its (already verified, or trusted) files. */
export async function loadPolicyBundle(files: ReadonlyMap<string, Buffer>): Promise<PolicyBundle> {
  const manifest = parseJsonFile<Manifest>(files, ".manifest");
  const module = manifest.wasm?.find((w) => w.entrypoint === gateEntrypoint)?.module.replace(/^\/+/, "");
  if (!module) throw invalid(`the manifest has no wasm module for entrypoint ${gateEntrypoint}`);
  const wasm = files.get(module);
  if (!wasm) throw invalid(`the bundle has no ${module}`);
  const data = parseJsonFile<{ maestro?: { catalog?: { rules?: RuleInfo[] } } }>(files, "data.json");
  const catalog = data.maestro?.catalog?.rules;
  if (!Array.isArray(catalog) || catalog.length === 0) throw invalid("data.json has no maestro.catalog.rules");

  const { loadPolicy } = await import("@open-policy-agent/opa-wasm");
  let policy: Awaited<ReturnType<typeof loadPolicy>>;
  try {
    policy = await loadPolicy(wasm);
  } catch (err) {
    throw invalid(`${module} does not load (${(err as Error).message})`);
  }
  policy.setData(data);
  return {
    revision: manifest.revision ?? "",
    catalog,
    evaluate(input) {
      const results = policy.evaluate(input, gateEntrypoint) as Array<{ result?: GateResult }>;
      const result = results[0]?.result;
      if (!result) throw new Error(`entrypoint ${gateEntrypoint} returned no result`);
      return result;
    },
  };
}

/** Reads an archive without checking a signature: for the bundle this repository ships and builds. */
export async function loadUnsignedBundle(archive: Buffer): Promise<PolicyBundle> {
  return loadPolicyBundle(new Map(readTarGz(archive).map((f) => [f.name.replace(/^\/+/, ""), f.data])));
}

/** The shipped bundle, loaded once per process. */
let shipped: Promise<PolicyBundle> | undefined;
export function loadShippedBundle(): Promise<PolicyBundle> {
  shipped ??= loadUnsignedBundle(readFileSync(shippedBundlePath));
  return shipped;
}
