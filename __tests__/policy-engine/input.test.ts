// The policy input normalizer: what the Rego policies see of a stack's Terraform JSON.
import { normalizeStack, policyParameters, toKubernetesFields } from "../../policy-engine/input";
import { loadEnvironment } from "../../config/load";

const parameters = policyParameters(loadEnvironment("staging"));

test("parameters carry the configured audit retention and the mesh namespaces", () => {
  expect(parameters).toMatchObject({
    environment: "staging",
    audit: { bucketName: "maestro-staging-audit", retentionDays: 30, mode: "COMPLIANCE" },
    mesh: { rootNamespace: "istio-system", workloadNamespaces: ["maestro", "maestro-data", "maestro-gateway", "monitoring"] },
  });
});

test("typed kubernetes_* resources become API-shaped objects; map keys are kept as written", () => {
  const input = normalizeStack(
    "backup",
    {
      resource: {
        kubernetes_stateful_set_v1: {
          pg: {
            "//": { metadata: { path: "backup/pg" } },
            metadata: { name: "postgres", namespace: "maestro-data", labels: { "app.kubernetes.io/name": "postgres" } },
            spec: {
              template: {
                metadata: { annotations: { "policy.maestro.io/bundle-signature-required": "true" } },
                spec: {
                  security_context: { run_as_non_root: true },
                  init_container: [{ name: "init", resources: { limits: { memory: "64Mi" } } }],
                  container: [
                    { name: "pg", env: [{ name: "PGDATA", value: "/data" }], volume_mount: [{ name: "d", mount_path: "/data" }] },
                  ],
                },
              },
            },
          },
        },
      },
    },
    parameters,
  );
  expect(input.kubernetes).toEqual([
    {
      address: "kubernetes_stateful_set_v1.pg",
      source: "kubernetes_stateful_set_v1",
      object: {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "postgres", namespace: "maestro-data", labels: { "app.kubernetes.io/name": "postgres" } },
        spec: {
          template: {
            metadata: { annotations: { "policy.maestro.io/bundle-signature-required": "true" } },
            spec: {
              securityContext: { runAsNonRoot: true },
              initContainers: [{ name: "init", resources: { limits: { memory: "64Mi" } } }],
              containers: [{ name: "pg", env: [{ name: "PGDATA", value: "/data" }], volumeMounts: [{ name: "d", mountPath: "/data" }] }],
            },
          },
        },
      },
    },
  ]);
  expect(input.resources.kubernetes_stateful_set_v1.pg["//"]).toBeUndefined();
});

test("kubernetes_manifest objects are kept verbatim; helm values (JSON or YAML) are parsed", () => {
  const manifest = {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: "default", namespace: "istio-system" },
    spec: { mtls: { mode: "STRICT" } },
  };
  const input = normalizeStack(
    "platform",
    {
      resource: {
        kubernetes_manifest: { pa: { manifest } },
        helm_release: {
          istiod: {
            name: "istiod",
            chart: "istiod",
            values: ['{"pilot":{"autoscaleMin":2}}', "meshConfig:\n  enableAutoMtls: true\n", "key: [unclosed"],
          },
        },
      },
    },
    parameters,
  );
  expect(input.kubernetes).toEqual([{ address: "kubernetes_manifest.pa", source: "kubernetes_manifest", object: manifest }]);
  expect(input.helm_releases[0]).toMatchObject({
    address: "helm_release.istiod",
    values: [{ pilot: { autoscaleMin: 2 } }, { meshConfig: { enableAutoMtls: true } }, { $unparsed: "key: [unclosed" }],
    set: [],
    set_sensitive: [],
  });
});

test("IAM policies are read from JSON strings and aws_iam_policy_document references; others are named unresolved", () => {
  const input = normalizeStack(
    "audit",
    {
      resource: {
        aws_iam_role: {
          r: {
            assume_role_policy: '{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity"}]}',
            inline_policy: [{ policy: "${jsonencode(local.p)}" }],
          },
        },
        aws_s3_bucket_policy: { p: { bucket: "${aws_s3_bucket.b.id}", policy: "${data.aws_iam_policy_document.tls.json}" } },
      },
      data: {
        aws_iam_policy_document: {
          tls: {
            statement: [
              {
                effect: "Deny",
                actions: ["s3:*"],
                resources: ["arn:aws:s3:::b/*"],
                principals: [{ type: "*", identifiers: ["*"] }],
                condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
              },
            ],
          },
        },
      },
    },
    parameters,
  );
  expect(input.iam_documents).toEqual([
    {
      address: "aws_iam_role.r",
      attribute: "assume_role_policy",
      document: { Statement: [{ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity" }] },
    },
    { address: "aws_iam_role.r", attribute: "inline_policy[0].policy", unresolved: "${jsonencode(local.p)}" },
    {
      address: "aws_s3_bucket_policy.p",
      attribute: "policy",
      document: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Deny",
            Action: ["s3:*"],
            Resource: ["arn:aws:s3:::b/*"],
            Principal: { "*": ["*"] },
            Condition: { Bool: { "aws:SecureTransport": ["false"] } },
          },
        ],
      },
    },
  ]);
});

test("toKubernetesFields renames list blocks and camel-cases attributes", () => {
  expect(
    toKubernetesFields({ role_ref: { api_group: "rbac.authorization.k8s.io" }, subject: [{ kind: "User" }], rule: [{ api_groups: [""] }] }),
  ).toEqual({
    roleRef: { apiGroup: "rbac.authorization.k8s.io" },
    subjects: [{ kind: "User" }],
    rules: [{ apiGroups: [""] }],
  });
});
