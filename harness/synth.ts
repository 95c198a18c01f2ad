import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadEnvironment } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { loadManifestSchemas } from "../constructs/k8s/schemas";
import { buildStacks, stackIds, type StackId } from "../stacks";
import { sharedRunDirVariable } from "./run-share";

/** Terraform JSON of one stack, as cdktf writes it to cdktf.out/stacks/<id>/cdk.tf.json. */
export type StackJson = {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown; description?: string }>;
  provider?: Record<string, unknown>;
  terraform?: Record<string, unknown>;
  [key: string]: unknown;
};

const cache = new Map<string, Record<StackId, StackJson>>();

// A folder one jest run shares between its suites (harness/run-share.ts): each suite has its own
// module registry, so without it every suite that asks for staging loaded the schema models and
// built the six stacks again. The first suite to synthesize an environment writes `<env>.json`
// there; later ones read it. Unset (bench, verify:ga): per process only.

function readShared(key: string): Record<StackId, StackJson> | undefined {
  const dir = process.env[sharedRunDirVariable];
  if (!dir) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, `${key}.json`), "utf8")) as Record<StackId, StackJson>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function writeShared(key: string, result: Record<StackId, StackJson>): void {
  const dir = process.env[sharedRunDirVariable];
  if (!dir) return;
  const file = join(dir, `${key}.json`);
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(result));
  renameSync(`${file}.${process.pid}`, file); // atomic: a suite never reads half a file
}

/** Synthesizes every stack of one environment in-process (memoized per environment name). */
export async function synthAll(env: string | EnvironmentConfig = "staging"): Promise<Record<StackId, StackJson>> {
  const key = typeof env === "string" ? env : "";
  if (key && cache.has(key)) return cache.get(key)!;
  const shared = key ? readShared(key) : undefined;
  if (shared) {
    cache.set(key, shared);
    return shared;
  }
  const config = typeof env === "string" ? loadEnvironment(env) : env;
  await loadManifestSchemas();
  const app = Testing.app();
  const stacks = buildStacks(app, config);
  // As app.synth() does first: resolving each stack adds the outputs and remote state of its
  // cross-stack references (the app stack's IRSA role ARN is the audit stack's).
  for (const id of stackIds) stacks[id].prepareStack();
  const result = {} as Record<StackId, StackJson>;
  for (const id of stackIds) result[id] = JSON.parse(Testing.synth(stacks[id])) as StackJson;
  if (key) {
    cache.set(key, result);
    writeShared(key, result);
  }
  return result;
}

/** The resources of one Terraform type in a synthesized stack, by name. */
export function resourcesOf(stack: StackJson, type: string): Record<string, Record<string, unknown>> {
  return stack.resource?.[type] ?? {};
}

/** Every kubernetes_manifest object of a stack, by its Terraform name. */
export function manifestsOf(stack: StackJson): Array<{
  name: string;
  manifest: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: unknown };
    [k: string]: unknown;
  };
}> {
  return Object.entries(resourcesOf(stack, "kubernetes_manifest")).map(([name, r]) => ({ name, manifest: r.manifest as never }));
}
