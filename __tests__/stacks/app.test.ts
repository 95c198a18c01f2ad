// The app stack as synthesized for staging and production: the compliance service's Rollout,
// Services, PodDisruptionBudget, service accounts, the AnalysisTemplate and the ConfigMap that
// carries slo_gate.js, with the exact properties the runbook asks for.
import { readFileSync } from "node:fs";
import { loadEnvironment } from "../../config/load";
import { loadManifestSchemas, validateManifest, type ManifestObject } from "../../constructs/k8s/schemas";
import { sloGateScriptPath } from "../../constructs/rollout";
import { fromTerraformLiteral } from "../../constructs/terraform/literal";
import { bundleSignatureRequiredAnnotation } from "../../contracts/annotations";
import { manifestsOf, resourcesOf, synthAll, type StackJson } from "../../harness/synth";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const backupOf = (env: string) => loadEnvironment(env).backup;

const expected = {
  staging: {
    replicas: 2,
    minAvailable: "1",
    scaleDownDelaySeconds: 30,
    image: "ghcr.io/maestro/compliance-service:1.0.0-rc.3",
    slo: ["--window", "5m", "--max-error-ratio", "0.01", "--max-p99-ms", "300", "--min-requests", "50"],
    bucket: "maestro-staging-audit",
    retentionDays: "30",
    roleName: "maestro-staging-compliance-audit",
  },
  production: {
    replicas: 3,
    minAvailable: "2",
    scaleDownDelaySeconds: 60,
    image: "ghcr.io/maestro/compliance-service:1.0.0",
    slo: ["--window", "5m", "--max-error-ratio", "0.005", "--max-p99-ms", "250", "--min-requests", "200"],
    bucket: "maestro-production-audit",
    retentionDays: "2555",
    roleName: "maestro-production-compliance-audit",
  },
} as const;

const manifest = (app: StackJson, kind: string): Obj => {
  const found = manifestsOf(app).filter((m) => m.manifest.kind === kind);
  expect(found).toHaveLength(1);
  return found[0].manifest;
};
const typed = (app: StackJson, type: string, name: string): Obj => {
  const found = Object.values(resourcesOf(app, type)).filter((r) => (r as Obj).metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0] as Obj;
};

/** Every string of the stack, with its JSON path. */
function strings(value: unknown, path = "$"): Array<[string, string]> {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

describe.each(["staging", "production"] as const)("app stack (%s)", (env) => {
  const want = expected[env];
  let app: StackJson;
  let rollout: Obj;
  let template: Obj;
  beforeAll(async () => {
    app = (await synthAll(env)).app;
    await loadManifestSchemas(); // validateManifest below (synthAll may answer from the run's shared output)
    rollout = manifest(app, "Rollout");
    template = manifest(app, "AnalysisTemplate");
  });

  test("replicas come from config and match the environment's minimum", () => {
    expect(rollout.spec.replicas).toBe(loadEnvironment(env).rollout.replicas);
    expect(rollout.spec.replicas).toBe(want.replicas);
  });

  test("every Kubernetes manifest matches its API schema (Argo Rollouts CRDs)", () => {
    const manifests = manifestsOf(app);
    expect(manifests.map((m) => m.manifest.kind).sort()).toEqual(["AnalysisTemplate", "Rollout"]);
    for (const { manifest: m } of manifests) expect(() => validateManifest(m as ManifestObject)).not.toThrow();
  });

  test("the Rollout is blue/green, gated by the SLO analysis before and after promotion", () => {
    expect(rollout.apiVersion).toBe("argoproj.io/v1alpha1");
    expect(rollout.metadata).toEqual({
      name: "compliance",
      namespace: "maestro",
      labels: { "app.kubernetes.io/name": "compliance", "app.kubernetes.io/part-of": "maestro" },
      annotations: { [bundleSignatureRequiredAnnotation]: "true" },
    });
    expect(rollout.spec.selector).toEqual({ matchLabels: { "app.kubernetes.io/name": "compliance" } });
    expect(rollout.spec.strategy).toEqual({
      blueGreen: {
        activeService: "compliance",
        previewService: "compliance-preview",
        autoPromotionEnabled: true,
        scaleDownDelaySeconds: want.scaleDownDelaySeconds,
        abortScaleDownDelaySeconds: want.scaleDownDelaySeconds,
        prePromotionAnalysis: {
          templates: [{ templateName: "compliance-slo-gate" }],
          args: [{ name: "service-name", value: "compliance-preview" }],
        },
        postPromotionAnalysis: {
          templates: [{ templateName: "compliance-slo-gate" }],
          args: [{ name: "service-name", value: "compliance" }],
        },
      },
    });
  });

  test("the pod: compliance-service account, signed-policy annotation, non-root, read-only root, no API token", () => {
    const pod = rollout.spec.template;
    expect(pod.metadata.labels).toEqual({ "app.kubernetes.io/name": "compliance", "app.kubernetes.io/part-of": "maestro" });
    expect(pod.metadata.annotations).toEqual({
      [bundleSignatureRequiredAnnotation]: "true",
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8080",
      "prometheus.io/path": "/metrics",
    });
    expect(pod.spec).toMatchObject({
      serviceAccountName: "compliance-service",
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      },
      volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
    });
    expect(pod.spec.containers).toHaveLength(1);
  });

  test("the container: pinned image, env from config, DATABASE_URL and the signing key only as Secret references", () => {
    const [c] = rollout.spec.template.spec.containers;
    expect(c.image).toBe(want.image);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(c.env).toEqual([
      { name: "PORT", value: "8080" },
      { name: "MAESTRO_ENVIRONMENT", value: env },
      { name: "ALLOW_UNSIGNED_POLICY", value: "false" },
      { name: "AUDIT_WORM_ENABLED", value: "true" },
      { name: "AUDIT_WORM_BUCKET", value: want.bucket },
      { name: "AUDIT_RETENTION_DAYS", value: want.retentionDays },
      // The DR records in the backup bucket, read with the pod's role (granted by the backup stack).
      { name: "AWS_REGION", value: loadEnvironment(env).region },
      { name: "COMPLIANCE_BACKUP_RECORD", value: `s3://${backupOf(env).bucketName}/${backupOf(env).prefix}/records/last-backup.json` },
      { name: "COMPLIANCE_DRILL_RECORD", value: `s3://${backupOf(env).bucketName}/${backupOf(env).prefix}/records/last-drill.json` },
      // The identity the gateway enforces, so the service verifies the same issuer and mapping.
      { name: "OIDC_ISSUER", value: loadEnvironment(env).gateway.oidc.issuer },
      { name: "OIDC_AUDIENCE", value: "maestro-compliance" },
      { name: "AUTHZ_ROLE_SOURCE", value: "directory" },
      { name: "GROUP_ROLES", value: "viewers=viewer,operators=operator,auditors=auditor,platform-admins=admin" },
      { name: "RESTRICTED_LABELS", value: "audit-log,pii" },
      { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "compliance-database", key: "url" } } },
      { name: "AUDIT_SIGNING_KEY_PEM", valueFrom: { secretKeyRef: { name: "compliance-audit-signing", key: "signing-key.pem" } } },
      {
        name: "AUDIT_SIGNING_RETIRED_KEYS_PEM",
        valueFrom: { secretKeyRef: { name: "compliance-audit-signing", key: "retired-public-keys.pem" } },
      },
      { name: "SCIM_SYNC_TOKEN", valueFrom: { secretKeyRef: { name: "scim", key: "sync-token" } } },
    ]);
    expect(JSON.stringify(app)).not.toMatch(/postgres(ql)?:\/\//);
    expect(JSON.stringify(app)).not.toMatch(/-----BEGIN [A-Z ]*KEY-----/); // key material never enters synth
  });

  test("zero downtime: probes, preStop drain, requests and limits, hardened security context", () => {
    const [c] = rollout.spec.template.spec.containers;
    expect(c.readinessProbe).toEqual({
      httpGet: { path: "/readyz", port: "http" },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(c.livenessProbe).toEqual({
      httpGet: { path: "/healthz", port: "http" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(c.lifecycle).toEqual({ preStop: { sleep: { seconds: 10 } } });
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "512Mi" } });
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  test("active and preview Services select the rollout's pods; Argo's selector rewrite is not undone by Terraform", () => {
    for (const [name, role] of [
      ["compliance", "active"],
      ["compliance-preview", "preview"],
    ]) {
      const svc = typed(app, "kubernetes_service_v1", name);
      expect(svc.metadata).toEqual({
        name,
        namespace: "maestro",
        labels: { "app.kubernetes.io/name": "compliance", "app.kubernetes.io/part-of": "maestro", "maestro.io/rollout-role": role },
      });
      expect(svc.spec).toEqual({
        type: "ClusterIP",
        selector: { "app.kubernetes.io/name": "compliance" },
        port: [{ name: "http", port: 8080, target_port: "http", protocol: "TCP", app_protocol: "http" }],
      });
      expect(svc.lifecycle.ignore_changes).toEqual([
        'spec[0].selector["rollouts-pod-template-hash"]',
        'metadata[0].annotations["argo-rollouts.argoproj.io/managed-by-rollouts"]',
      ]);
    }
  });

  test("a PodDisruptionBudget keeps all but one pod available", () => {
    const pdb = typed(app, "kubernetes_pod_disruption_budget_v1", "compliance");
    expect(pdb.spec).toEqual({ min_available: want.minAvailable, selector: { match_labels: { "app.kubernetes.io/name": "compliance" } } });
    expect(pdb.metadata.namespace).toBe("maestro");
  });

  test("service accounts: compliance-service with the audit IRSA role, slo-gate; neither mounts an API token", async () => {
    const sa = typed(app, "kubernetes_service_account_v1", "compliance-service");
    expect(sa.automount_service_account_token).toBe(false);
    // The ARN is the audit stack's reference (through its remote state), not a string rebuilt here.
    const annotation: string = sa.metadata.annotations["eks.amazonaws.com/role-arn"];
    const [, output] = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-audit\.outputs\.([\w-]+)\}$/.exec(annotation) ?? [];
    expect(output).toBeDefined();
    const { audit } = await synthAll(env);
    const [, roleKey] = /^\$\{aws_iam_role\.([\w-]+)\.arn\}$/.exec(String(audit.output?.[output].value)) ?? [];
    expect(resourcesOf(audit, "aws_iam_role")[roleKey]?.name).toBe(want.roleName);
    expect(Object.keys(sa.metadata.annotations)).toEqual(["eks.amazonaws.com/role-arn"]);
    expect(typed(app, "kubernetes_service_account_v1", "slo-gate").automount_service_account_token).toBe(false);
  });

  test("the AnalysisTemplate runs slo_gate.js once per phase with the SLO from config; any failure fails the analysis", () => {
    expect(template.metadata).toMatchObject({ name: "compliance-slo-gate", namespace: "maestro" });
    expect(template.spec.args).toEqual([
      { name: "service-name" },
      { name: "namespace", value: "maestro" },
      { name: "prometheus-url", value: "http://prometheus-server.monitoring.svc:9090" },
    ]);
    expect(template.spec.metrics).toHaveLength(1);
    const [metric] = template.spec.metrics;
    expect(metric).toMatchObject({ name: "slo", initialDelay: "5m", count: 1, failureLimit: 0 });
    const job = metric.provider.job;
    expect(job.metadata.annotations).toEqual({ [bundleSignatureRequiredAnnotation]: "true" });
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 150 });
    const pod = job.spec.template;
    expect(pod.metadata.annotations).toEqual({ [bundleSignatureRequiredAnnotation]: "true", "sidecar.istio.io/nativeSidecar": "true" });
    expect(pod.spec).toMatchObject({
      restartPolicy: "Never",
      serviceAccountName: "slo-gate",
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      volumes: [{ name: "slo-gate", configMap: { name: "compliance-slo-gate", defaultMode: 0o444 } }],
    });
    const [c] = pod.spec.containers;
    expect(c.image).toBe(want.image);
    expect(c.command).toEqual(["node", "/opt/maestro/slo-gate/slo_gate.js"]);
    expect(c.args).toEqual([
      "--prometheus",
      "{{args.prometheus-url}}",
      "--service",
      "{{args.service-name}}",
      "--namespace",
      "{{args.namespace}}",
      ...want.slo,
      "--timeout",
      "30s",
      "--format",
      "json",
    ]);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
    expect(c.volumeMounts).toEqual([{ name: "slo-gate", mountPath: "/opt/maestro/slo-gate", readOnly: true }]);
  });

  test("the ConfigMap carries tools/ci/slo_gate.js byte for byte, escaped for Terraform", () => {
    const cm = typed(app, "kubernetes_config_map_v1", "compliance-slo-gate");
    const shipped: string = cm.data["slo_gate.js"];
    const unescaped = fromTerraformLiteral(shipped);
    expect(unescaped).toBe(readFileSync(sloGateScriptPath, "utf8"));
    expect(shipped).not.toBe(unescaped); // the script does use `${`: escaping is exercised
  });

  test("no string in the stack holds an unescaped Terraform template sequence (references to the stacks before it aside)", () => {
    const reference = /^\$\{data\.terraform_remote_state\.cross-stack-reference-input-[\w-]+\.outputs\.[\w-]+\}$/;
    const offenders = strings(app.resource).filter(([, s]) => !reference.test(s) && /(^|[^$])\$\{|(^|[^%])%\{/.test(s));
    expect(offenders.map(([path]) => path)).toEqual([]);
  });

  test("the Rollout is applied after its AnalysisTemplate, Services and service account", () => {
    const [name] = Object.entries(resourcesOf(app, "kubernetes_manifest")).find(([, r]) => (r as Obj).manifest.kind === "Rollout")!;
    const dependsOn = (resourcesOf(app, "kubernetes_manifest")[name] as Obj).depends_on as string[];
    expect(dependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^kubernetes_manifest\.compliance_analysis-template_/),
        expect.stringMatching(/^kubernetes_service_v1\.compliance_active-service_/),
        expect.stringMatching(/^kubernetes_service_v1\.compliance_preview-service_/),
        expect.stringMatching(/^kubernetes_service_account_v1\.compliance_service-account_/),
      ]),
    );
  });

  test("outputs name what the runbook's CD step needs", () => {
    expect(Object.fromEntries(Object.entries(app.output ?? {}).map(([k, v]) => [k, v.value]))).toMatchObject({
      rollout_name: "compliance",
      rollout_namespace: "maestro",
      active_service: "compliance",
      preview_service: "compliance-preview",
      analysis_template: "compliance-slo-gate",
    });
  });
});
