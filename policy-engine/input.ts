// The policy input: one synthesized stack (cdktf.out/stacks/<id>/cdk.tf.json) turned into data the
// Rego policies can read without parsing strings. Used by the synth gate, the policy-check CLI,
// the tests and the PR diff tool, so every consumer sees the same shape (docs/policies.md#input).
import { typedResourceToObject } from "./typed-kubernetes";

/** Terraform JSON of one stack, as cdktf writes it. */
export interface TerraformJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value?: unknown; sensitive?: boolean; description?: string }>;
  provider?: Record<string, unknown>;
  locals?: Record<string, unknown>;
  variable?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Environment settings the policies compare against ("at least the configured retention"). */
export interface PolicyParameters {
  environment: string;
  audit: { bucketName: string; retentionDays: number; mode: string };
  backup: { bucketName: string };
  mesh: { trustDomain: string; rootNamespace: string; workloadNamespaces: string[] };
}

/** A Kubernetes object found in the stack, in API shape, whichever way Terraform carries it. */
export interface KubernetesObject {
  /** Terraform address of the resource that carries it, e.g. `kubernetes_manifest.peer-auth_resource_1A2B`. */
  address: string;
  /** How it is carried: `kubernetes_manifest` (verbatim) or a typed resource type (converted). */
  source: string;
  object: { apiVersion?: string; kind: string; metadata: Record<string, unknown>; [field: string]: unknown };
}

/** A helm_release with its values parsed (JSON or YAML strings become objects). */
export interface HelmRelease {
  address: string;
  name: string;
  chart: string;
  version?: string;
  namespace?: string;
  /** Each `values` entry parsed; an entry that does not parse is kept as `{ "$unparsed": text }`. */
  values: unknown[];
  set: Array<{ name: string; value?: unknown }>;
  set_sensitive: Array<{ name: string; value?: unknown }>;
}

/** A policy document found in a resource attribute, as IAM JSON. */
export interface IamDocument {
  /** Terraform address of the resource whose attribute holds it. */
  address: string;
  /** `policy`, `assume_role_policy` or `inline_policy[0].policy`. */
  attribute: string;
  /** The document, or undefined when it is neither JSON nor a resolvable aws_iam_policy_document. */
  document?: { Statement?: unknown[]; [k: string]: unknown };
  /** The raw value when it could not be read, so a policy can name it. */
  unresolved?: string;
}

export interface PolicyInput {
  stack: string;
  parameters: PolicyParameters;
  /** Managed resources by type, then name: the same nesting as Terraform JSON (metadata removed). */
  resources: Record<string, Record<string, Record<string, unknown>>>;
  /** Data sources by type, then name. */
  data: Record<string, Record<string, Record<string, unknown>>>;
  kubernetes: KubernetesObject[];
  helm_releases: HelmRelease[];
  iam_documents: IamDocument[];
  outputs: Record<string, { value?: unknown; sensitive?: boolean }>;
}

export { toKubernetesFields } from "./typed-kubernetes";

function stripMetadata(values: Record<string, unknown>): Record<string, unknown> {
  const { "//": _cdktfMetadata, ...rest } = values;
  return rest;
}

function parseValues(text: unknown): unknown {
  if (typeof text !== "string") return text;
  // The stacks write Helm values as JSON (a subset of YAML); the YAML parser is loaded only for
  // values written as YAML, which keeps it out of every synth.
  try {
    return JSON.parse(text) as unknown;
  } catch {
    try {
      const { parse } = require("yaml") as typeof import("yaml");
      return parse(text) as unknown;
    } catch {
      return { $unparsed: text };
    }
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

// aws_iam_policy_document statement blocks → IAM JSON statements.
function statementFromDataSource(s: Record<string, unknown>): Record<string, unknown> {
  const principals = (list: unknown) => {
    const out: Record<string, unknown[]> = {};
    for (const p of asArray(list) as Array<{ type?: string; identifiers?: unknown[] }>) {
      out[p.type ?? "AWS"] = [...(out[p.type ?? "AWS"] ?? []), ...asArray(p.identifiers)];
    }
    return out;
  };
  const stmt: Record<string, unknown> = { Effect: s.effect ?? "Allow" };
  if (s.sid !== undefined) stmt.Sid = s.sid;
  if (s.actions !== undefined) stmt.Action = s.actions;
  if (s.not_actions !== undefined) stmt.NotAction = s.not_actions;
  if (s.resources !== undefined) stmt.Resource = s.resources;
  if (s.not_resources !== undefined) stmt.NotResource = s.not_resources;
  if (s.principals !== undefined) stmt.Principal = principals(s.principals);
  if (s.not_principals !== undefined) stmt.NotPrincipal = principals(s.not_principals);
  if (s.condition !== undefined) {
    const condition: Record<string, Record<string, unknown>> = {};
    for (const c of asArray(s.condition) as Array<{ test: string; variable: string; values: unknown[] }>) {
      condition[c.test] = { ...(condition[c.test] ?? {}), [c.variable]: c.values };
    }
    stmt.Condition = condition;
  }
  return stmt;
}

function readDocument(raw: unknown, data: TerraformJson["data"]): Pick<IamDocument, "document" | "unresolved"> {
  if (raw !== null && typeof raw === "object") return { document: raw as IamDocument["document"] };
  if (typeof raw !== "string") return { unresolved: String(raw) };
  const ref = /^\$\{data\.aws_iam_policy_document\.([^.}]+)\.json\}$/.exec(raw.trim());
  if (ref) {
    const source = data?.aws_iam_policy_document?.[ref[1]];
    if (!source) return { unresolved: raw };
    return {
      document: {
        Version: source.version ?? "2012-10-17",
        Statement: asArray(source.statement).map((s) => statementFromDataSource(s as Record<string, unknown>)),
      },
    };
  }
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === "object") return { document: parsed as IamDocument["document"] };
  } catch {
    // falls through: an HCL expression such as ${jsonencode(...)} that synth cannot evaluate
  }
  return { unresolved: raw };
}

const documentAttributes = ["policy", "assume_role_policy"];

/** Turns one stack's Terraform JSON into the policy input. */
export function normalizeStack(stack: string, tf: TerraformJson, parameters: PolicyParameters): PolicyInput {
  const resources: PolicyInput["resources"] = {};
  const kubernetes: KubernetesObject[] = [];
  const helm: HelmRelease[] = [];
  const iam: IamDocument[] = [];

  for (const [type, byName] of Object.entries(tf.resource ?? {})) {
    resources[type] = {};
    for (const [name, rawValues] of Object.entries(byName)) {
      const values = stripMetadata(rawValues);
      resources[type][name] = values;
      const address = `${type}.${name}`;

      if (type === "kubernetes_manifest") {
        const manifest = values.manifest as KubernetesObject["object"] | undefined;
        if (manifest && typeof manifest === "object") kubernetes.push({ address, source: type, object: manifest });
      } else if (type === "helm_release") {
        helm.push({
          address,
          name: String(values.name ?? name),
          chart: String(values.chart ?? ""),
          version: values.version as string | undefined,
          namespace: values.namespace as string | undefined,
          values: asArray(values.values).map(parseValues),
          set: asArray(values.set) as HelmRelease["set"],
          set_sensitive: asArray(values.set_sensitive) as HelmRelease["set_sensitive"],
        });
      } else {
        const object = typedResourceToObject(type, values);
        if (object) kubernetes.push({ address, source: type, object });
      }

      if (type.startsWith("aws_")) {
        for (const attribute of documentAttributes) {
          if (values[attribute] !== undefined) iam.push({ address, attribute, ...readDocument(values[attribute], tf.data) });
        }
        asArray(values.inline_policy).forEach((p, i) => {
          const policy = (p as { policy?: unknown }).policy;
          if (policy !== undefined) iam.push({ address, attribute: `inline_policy[${i}].policy`, ...readDocument(policy, tf.data) });
        });
      }
    }
  }

  const data: PolicyInput["data"] = {};
  for (const [type, byName] of Object.entries(tf.data ?? {})) {
    data[type] = Object.fromEntries(Object.entries(byName).map(([n, v]) => [n, stripMetadata(v)]));
  }
  const outputs = Object.fromEntries(Object.entries(tf.output ?? {}).map(([n, o]) => [n, { value: o.value, sensitive: o.sensitive }]));
  return { stack, parameters, resources, data, kubernetes, helm_releases: helm, iam_documents: iam, outputs };
}

/** The parameters the policies need, from an environment's configuration. */
export function policyParameters(config: {
  name: string;
  audit: { bucketName: string; retentionDays: number; mode: string };
  backup: { bucketName: string };
  mesh: { trustDomain: string; services: ReadonlyArray<{ namespace: string }> };
  namespaces: { istio: string };
}): PolicyParameters {
  return {
    environment: config.name,
    audit: { bucketName: config.audit.bucketName, retentionDays: config.audit.retentionDays, mode: config.audit.mode },
    backup: { bucketName: config.backup.bucketName },
    mesh: {
      trustDomain: config.mesh.trustDomain,
      rootNamespace: config.namespaces.istio,
      workloadNamespaces: [...new Set(config.mesh.services.map((s) => s.namespace))].sort(),
    },
  };
}
