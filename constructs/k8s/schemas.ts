// Typed Kubernetes manifests, validated against their API schema before synth.
// The schema models (@kubernetes-models/*) are ESM-only, so they are loaded once, asynchronously,
// by loadManifestSchemas() before any stack is built; validation itself is synchronous.
import { MaestroError } from "../../lib/errors";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A Kubernetes object as it is sent to the API server. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** apiVersion/kind → the module that holds its model. Every kind built with K8sManifest is here. */
const modelModules: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  "security.istio.io/v1/PeerAuthentication": () => import("@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication"),
  "security.istio.io/v1/AuthorizationPolicy": () => import("@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy"),
  "security.istio.io/v1/RequestAuthentication": () => import("@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication"),
  "networking.istio.io/v1/DestinationRule": () => import("@kubernetes-models/istio/networking.istio.io/v1/DestinationRule"),
  "networking.istio.io/v1/ServiceEntry": () => import("@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry"),
  "telemetry.istio.io/v1/Telemetry": () => import("@kubernetes-models/istio/telemetry.istio.io/v1/Telemetry"),
  "argoproj.io/v1alpha1/Rollout": () => import("@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout"),
  "argoproj.io/v1alpha1/AnalysisTemplate": () => import("@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate"),
};

const models = new Map<string, ModelClass>();
let loading: Promise<void> | undefined;

/** Raised when a manifest does not match its API schema; names the object and the fields. */
export class ManifestValidationError extends MaestroError<"MANIFEST_INVALID"> {
  constructor(
    readonly object: string,
    readonly fields: readonly string[],
  ) {
    super("MANIFEST_INVALID", `${object} does not match its API schema:\n${fields.map((f) => `  - ${f}`).join("\n")}`);
  }
}

/** Loads every schema model once; call (and await) before building stacks. */
export function loadManifestSchemas(): Promise<void> {
  loading ??= Promise.all(
    Object.entries(modelModules).map(async ([key, load]) => {
      const mod = await load();
      const kind = key.slice(key.lastIndexOf("/") + 1);
      const model = mod[kind];
      if (typeof model !== "function") throw new Error(`schema module of ${key} has no export ${kind}`);
      models.set(key, model as ModelClass);
    }),
  ).then(() => undefined);
  return loading;
}

export function describeManifest(m: Pick<ManifestObject, "apiVersion" | "kind" | "metadata">): string {
  const ns = m.metadata?.namespace ? `${m.metadata.namespace}/` : "";
  return `${m.apiVersion} ${m.kind} ${ns}${m.metadata?.name ?? "(unnamed)"}`;
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Throws ManifestValidationError when the object does not match its kind's schema. */
export function validateManifest(manifest: ManifestObject): void {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const Model = models.get(key);
  if (!Model) {
    if (models.size === 0) {
      throw new Error(
        `manifest schemas are not loaded: await loadManifestSchemas() before building stacks (validating ${describeManifest(manifest)})`,
      );
    }
    throw new Error(`no schema registered for ${key}; add it to modelModules in constructs/k8s/schemas.ts`);
  }
  const problems: string[] = [];
  if (!manifest.metadata?.name) problems.push("metadata.name: required");
  try {
    new Model(manifest).validate();
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw err;
    for (const e of errors) {
      const path = (e.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "(object)";
      const allowed = Array.isArray(e.params?.allowedValues) ? ` (allowed: ${(e.params.allowedValues as unknown[]).join(", ")})` : "";
      problems.push(`${path}: ${e.message ?? "invalid"}${allowed}`);
    }
  }
  if (problems.length > 0) throw new ManifestValidationError(describeManifest(manifest), problems);
}
