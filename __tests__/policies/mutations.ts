// For every deny rule, a mutation of the real synth output that breaks just that rule: used by the
// wasm gate's test (gate.test.ts) and by the real conftest's (conftest.test.ts).
import type { TerraformJson } from "../../policy-engine/input";
import type { StackId } from "../../stacks";
import { loadEnvironment } from "../../config/load";
import { fromTerraformLiteral } from "../../constructs/terraform/literal";

// Synth JSON is reached into and rewritten freely by the mutations below.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
type Resources = Record<string, Record<string, Record<string, unknown>>>;

// ---- mutation helpers: each finds its object in the real output, or says it is absent ----------

export const resources = (s: TerraformJson): Resources => (s.resource ??= {}) as Resources;

function manifests(s: TerraformJson, kind: string): Array<Obj> {
  return Object.values(resources(s).kubernetes_manifest ?? {})
    .map((r) => r.manifest as Obj)
    .filter((m) => m.kind === kind);
}

function manifestName(s: TerraformJson, pick: (m: Obj) => boolean): string | undefined {
  return Object.entries(resources(s).kubernetes_manifest ?? {}).find(([, r]) => pick(r.manifest as Obj))?.[0];
}

export function first<T>(items: T[], what: string): T {
  if (items.length === 0) throw new Error(`the real synth output has no ${what}: this rule cannot be mutation-tested on it`);
  return items[0];
}

function addManifest(s: TerraformJson, name: string, manifest: object): void {
  resources(s).kubernetes_manifest = { ...(resources(s).kubernetes_manifest ?? {}), [name]: { manifest } };
}

function podSpec(m: Obj): Obj {
  return m.spec.template.spec;
}

/** Rewrites one JSON-string IAM policy of a resource type, first Allow statement. */
function editPolicy(s: TerraformJson, type: string, edit: (statement: Obj) => void): void {
  const holder = first(
    Object.values(resources(s)[type] ?? {}).filter((r) => typeof r.policy === "string" && r.policy.startsWith("{")),
    `${type} with a JSON policy`,
  );
  const doc = JSON.parse(holder.policy as string) as { Statement: Array<Obj> };
  edit(
    first(
      doc.Statement.filter((st) => st.Effect === "Allow"),
      "Allow statement",
    ),
  );
  holder.policy = JSON.stringify(doc);
}

function auditBucket(s: TerraformJson, env: string): [string, Record<string, unknown>] {
  const bucketName = loadEnvironment(env).audit.bucketName;
  return first(
    Object.entries(resources(s).aws_s3_bucket ?? {}).filter(([, b]) => b.bucket === bucketName),
    `audit bucket ${bucketName}`,
  );
}

function companion(s: TerraformJson, env: string, type: string): Obj {
  const [name] = auditBucket(s, env);
  return first(
    Object.values(resources(s)[type] ?? {}).filter((r) => String(r.bucket).includes(`aws_s3_bucket.${name}.`)),
    `${type} of the audit bucket`,
  );
}

export interface Mutation {
  rule: string;
  stack: StackId;
  /** "mutates" an object of the real output; "injects" one the real stack does not have yet. */
  how: "mutates" | "injects";
  what: string;
  apply(s: TerraformJson, env: string): void;
}

const rollout = (s: TerraformJson) => first(manifests(s, "Rollout"), "Rollout");
const container = (s: TerraformJson) => podSpec(rollout(s)).containers[0] as Obj;

export const mutations: Mutation[] = [
  {
    rule: "MAESTRO-MESH-001",
    stack: "mesh",
    how: "mutates",
    what: "a port-level DISABLE on the mesh-wide PeerAuthentication",
    apply: (s) => (first(manifests(s, "PeerAuthentication"), "PeerAuthentication").spec.portLevelMtls = { "8080": { mode: "DISABLE" } }),
  },
  {
    rule: "MAESTRO-MESH-002",
    stack: "mesh",
    how: "mutates",
    what: "the mesh-wide PeerAuthentication removed",
    apply: (s) =>
      delete resources(s).kubernetes_manifest[
        first([manifestName(s, (m) => m.kind === "PeerAuthentication")!].filter(Boolean), "PeerAuthentication")
      ],
  },
  {
    rule: "MAESTRO-MESH-003",
    stack: "mesh",
    how: "mutates",
    what: "DestinationRule tls.mode SIMPLE",
    apply: (s) => (first(manifests(s, "DestinationRule"), "DestinationRule").spec.trafficPolicy.tls.mode = "SIMPLE"),
  },
  {
    rule: "MAESTRO-MESH-004",
    stack: "mesh",
    how: "mutates",
    what: "one namespace's deny-by-default AuthorizationPolicy removed",
    apply: (s) => {
      const name = manifestName(s, (m) => m.kind === "AuthorizationPolicy" && Object.keys(m.spec ?? {}).length === 0);
      delete resources(s).kubernetes_manifest[first([name!].filter(Boolean), "deny-by-default AuthorizationPolicy")];
    },
  },
  {
    rule: "MAESTRO-MESH-005",
    stack: "mesh",
    how: "mutates",
    what: 'an ALLOW policy\'s principals set to "*"',
    apply: (s) => {
      const allow = first(
        manifests(s, "AuthorizationPolicy").filter((m) => (m.spec?.rules ?? []).length > 0),
        "ALLOW AuthorizationPolicy",
      );
      allow.spec.rules[0].from = [{ source: { principals: ["*"] } }];
    },
  },
  {
    rule: "MAESTRO-ROLLOUT-001",
    stack: "app",
    how: "mutates",
    what: "a Deployment copy of the Rollout added",
    apply: (s) => {
      const copy = JSON.parse(JSON.stringify(rollout(s))) as Obj;
      delete copy.spec.strategy;
      addManifest(s, "deployment-copy", {
        ...copy,
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { ...copy.metadata, name: "compliance-deployment" },
      });
    },
  },
  {
    rule: "MAESTRO-ROLLOUT-002",
    stack: "app",
    how: "mutates",
    what: "the Rollout's strategy switched to canary",
    apply: (s) => (rollout(s).spec.strategy = { canary: { steps: [{ setWeight: 50 }] } }),
  },
  {
    rule: "MAESTRO-ROLLOUT-003",
    stack: "app",
    how: "mutates",
    what: "the Rollout's prePromotionAnalysis removed",
    apply: (s) => delete rollout(s).spec.strategy.blueGreen.prePromotionAnalysis,
  },
  {
    rule: "MAESTRO-ROLLOUT-004",
    stack: "app",
    how: "mutates",
    what: "the Rollout removed",
    apply: (s) =>
      delete resources(s).kubernetes_manifest[first([manifestName(s, (m) => m.kind === "Rollout")!].filter(Boolean), "Rollout")],
  },
  {
    rule: "MAESTRO-ROLLOUT-005",
    stack: "app",
    how: "mutates",
    what: "the Rollout's prePromotionAnalysis names a template the stack does not define",
    apply: (s) => (rollout(s).spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName = "compliance-slo-gate-missing"),
  },
  {
    rule: "MAESTRO-ROLLOUT-006",
    stack: "app",
    how: "mutates",
    what: "the Rollout passes its analysis arg as `service`, which the template does not declare (it declares `service-name`)",
    apply: (s) => (rollout(s).spec.strategy.blueGreen.prePromotionAnalysis.args[0].name = "service"),
  },
  {
    rule: "MAESTRO-K8S-001",
    stack: "app",
    how: "mutates",
    what: "the Rollout container's runAsNonRoot false",
    apply: (s) => (container(s).securityContext = { ...(container(s).securityContext ?? {}), runAsNonRoot: false }),
  },
  {
    rule: "MAESTRO-K8S-002",
    stack: "app",
    how: "mutates",
    what: "the Rollout container's memory limit removed",
    apply: (s) => delete container(s).resources.limits.memory,
  },
  {
    rule: "MAESTRO-K8S-003",
    stack: "app",
    how: "mutates",
    what: "the signed-policy annotation removed from the Rollout",
    apply: (s) => {
      const r = rollout(s);
      delete r.metadata.annotations?.["policy.maestro.io/bundle-signature-required"];
      delete r.spec.template.metadata.annotations?.["policy.maestro.io/bundle-signature-required"];
    },
  },
  {
    rule: "MAESTRO-K8S-004",
    stack: "gateway",
    how: "injects",
    what: 'a Role with verbs "*"',
    apply: (s) =>
      (resources(s).kubernetes_role_v1 = {
        wild: {
          metadata: { name: "wild", namespace: "maestro-gateway" },
          rule: [{ api_groups: [""], resources: ["secrets"], verbs: ["*"] }],
        },
      }),
  },
  {
    rule: "MAESTRO-K8S-005",
    stack: "gateway",
    how: "injects",
    what: "a ClusterRoleBinding to cluster-admin",
    apply: (s) =>
      (resources(s).kubernetes_cluster_role_binding_v1 = {
        admin: {
          metadata: { name: "admin" },
          role_ref: { api_group: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subject: [{ kind: "ServiceAccount", name: "scim-sync", namespace: "maestro-gateway" }],
        },
      }),
  },
  {
    rule: "MAESTRO-K8S-006",
    stack: "app",
    how: "mutates",
    what: "the Rollout container's ALLOW_UNSIGNED_POLICY set to true",
    apply: (s) => {
      const env = container(s).env as Array<{ name: string; value?: string }>;
      first(
        env.filter((e) => e.name === "ALLOW_UNSIGNED_POLICY"),
        "ALLOW_UNSIGNED_POLICY env",
      ).value = "true";
    },
  },
  {
    rule: "MAESTRO-S3-001",
    stack: "audit",
    how: "mutates",
    what: "Object Lock default retention mode GOVERNANCE",
    apply: (s, env) => (companion(s, env, "aws_s3_bucket_object_lock_configuration").rule.default_retention.mode = "GOVERNANCE"),
  },
  {
    rule: "MAESTRO-S3-002",
    stack: "audit",
    how: "mutates",
    what: "Object Lock default retention of 1 day",
    apply: (s, env) => (companion(s, env, "aws_s3_bucket_object_lock_configuration").rule.default_retention.days = 1),
  },
  {
    rule: "MAESTRO-S3-003",
    stack: "audit",
    how: "mutates",
    what: "versioning Suspended",
    apply: (s, env) => (companion(s, env, "aws_s3_bucket_versioning").versioning_configuration.status = "Suspended"),
  },
  {
    rule: "MAESTRO-S3-004",
    stack: "audit",
    how: "mutates",
    what: "SSE-S3 (AES256) instead of KMS",
    apply: (s, env) => {
      const sse = companion(s, env, "aws_s3_bucket_server_side_encryption_configuration");
      const rule = Array.isArray(sse.rule) ? sse.rule[0] : sse.rule;
      rule.apply_server_side_encryption_by_default = { sse_algorithm: "AES256" };
    },
  },
  {
    rule: "MAESTRO-S3-005",
    stack: "audit",
    how: "mutates",
    what: "restrict_public_buckets false",
    apply: (s, env) => (companion(s, env, "aws_s3_bucket_public_access_block").restrict_public_buckets = false),
  },
  {
    rule: "MAESTRO-S3-006",
    stack: "audit",
    how: "mutates",
    what: "the TLS-only deny statement removed from the bucket policy",
    apply: (s, env) => {
      const policy = companion(s, env, "aws_s3_bucket_policy");
      const doc = JSON.parse(policy.policy as string) as { Statement: Array<Obj> };
      doc.Statement = doc.Statement.filter((st) => !JSON.stringify(st.Condition ?? {}).includes("aws:SecureTransport"));
      policy.policy = JSON.stringify(doc);
    },
  },
  {
    rule: "MAESTRO-S3-007",
    stack: "audit",
    how: "mutates",
    what: "the audit bucket renamed away from config audit.bucketName",
    apply: (s, env) => (auditBucket(s, env)[1].bucket = "renamed-audit-bucket"),
  },
  {
    rule: "MAESTRO-IAM-001",
    stack: "audit",
    how: "mutates",
    what: 'the service role policy granting "logs:*"',
    apply: (s) => editPolicy(s, "aws_iam_role_policy", (st) => (st.Action = [...[st.Action].flat(), "logs:*"])),
  },
  {
    rule: "MAESTRO-IAM-002",
    stack: "backup",
    how: "mutates",
    what: 'the WAL-G writer policy on Resource "*"',
    apply: (s) => editPolicy(s, "aws_iam_role_policy", (st) => (st.Resource = [...[st.Resource].flat(), "*"])),
  },
  {
    rule: "MAESTRO-IAM-003",
    stack: "audit",
    how: "mutates",
    what: "the service role policy granting s3:BypassGovernanceRetention",
    apply: (s) => editPolicy(s, "aws_iam_role_policy", (st) => (st.Action = [...[st.Action].flat(), "s3:BypassGovernanceRetention"])),
  },
  {
    rule: "MAESTRO-SEC-001",
    stack: "platform",
    how: "mutates",
    what: "an AWS access key id in a namespace label",
    apply: (s) => {
      const ns = first(Object.values(resources(s).kubernetes_namespace_v1 ?? {}), "namespace") as Obj;
      ns.metadata.labels = { ...ns.metadata.labels, leaked: "AKIAIOSFODNN7EXAMPLE" };
    },
  },
  {
    rule: "MAESTRO-SEC-002",
    stack: "gateway",
    how: "injects",
    what: "a Secret with literal data",
    apply: (s) =>
      (resources(s).kubernetes_secret_v1 = {
        oidc: { metadata: { name: "oidc", namespace: "maestro-gateway" }, data: { "client-secret": "hunter2" } },
      }),
  },
  {
    rule: "MAESTRO-SEC-003",
    stack: "app",
    how: "mutates",
    what: "a literal DATABASE_PASSWORD env var on the Rollout container",
    apply: (s) => (container(s).env = [...(container(s).env ?? []), { name: "DATABASE_PASSWORD", value: "hunter2" }]),
  },
  {
    rule: "MAESTRO-SEC-004",
    stack: "platform",
    how: "mutates",
    what: "a literal password in istiod's Helm values",
    apply: (s) => {
      const release = first(Object.values(resources(s).helm_release ?? {}), "helm_release");
      const values = JSON.parse((release.values as string[])[0]) as Record<string, unknown>;
      release.values = [JSON.stringify({ ...values, grafana: { adminPassword: "hunter2" } })];
    },
  },
  {
    rule: "MAESTRO-TF-001",
    stack: "backup",
    how: "mutates",
    what: "pitr.sh embedded in its ConfigMap without escaping (as it once was)",
    apply: (s) => {
      const cm = first(
        Object.values(resources(s).kubernetes_config_map_v1 ?? {}).filter((r) => (r as Obj).data?.["pitr.sh"]),
        "pitr.sh ConfigMap",
      ) as Obj;
      cm.data["pitr.sh"] = fromTerraformLiteral(cm.data["pitr.sh"]);
    },
  },
];
