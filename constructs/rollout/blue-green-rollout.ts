import { join } from "node:path";
import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { ServiceV1 } from "@cdktf/provider-kubernetes/lib/service-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { PodDisruptionBudgetV1 } from "@cdktf/provider-kubernetes/lib/pod-disruption-budget-v1";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { K8sManifest } from "../k8s/manifest";
import { embedFile } from "../terraform/literal";
import type { ManifestObject } from "../k8s/schemas";
import { containerSecurityContext, podSecurityContext } from "../k8s/pod-security";
import { bundleSignatureRequiredAnnotation, bundleSignatureRequiredValue } from "../../contracts/annotations";
import { dnsLabelPattern } from "../../contracts/names";

/** tools/ci/slo_gate.js: the file the analysis Job runs, shipped in a ConfigMap byte for byte. */

/** uid/gid of the service image's user (the compliance service's Dockerfile USER). */
const serviceUid = 10001;
export const sloGateScriptPath = join(__dirname, "..", "..", "tools", "ci", "slo_gate.js");

/** Where the analysis Job mounts the ConfigMap that carries slo_gate.js. */
export const sloGateMountPath = "/opt/maestro/slo-gate";

/** Argo Rollouts' label on a Service whose selector it rewrites (and on the pods of a revision). */
const podTemplateHashLabel = "rollouts-pod-template-hash";
/** Argo Rollouts' annotation on the Services it manages. */
const managedByAnnotation = "argo-rollouts.argoproj.io/managed-by-rollouts";

/** A plain environment variable of the container. */
export interface EnvValue {
  readonly name: string;
  readonly value: string;
}

/** An environment variable read from a Kubernetes Secret: only the reference enters the JSON. */
export interface EnvSecretRef {
  readonly name: string;
  readonly secretName: string;
  readonly secretKey: string;
}

/** CPU and memory, as Kubernetes quantities. */
export interface ResourceQuantities {
  readonly cpu: string;
  readonly memory: string;
}

/** Properties of a {@link BlueGreenRollout}. */
export interface BlueGreenRolloutProps {
  /** The kubernetes provider that applies every object (the stack's). */
  readonly kubernetes: KubernetesProvider;
  /** Name of the Rollout, its pods' `app.kubernetes.io/name` label and the active Service. */
  readonly name: string;
  readonly namespace: string;
  /** Container image, `repository:tag` (a pinned tag, never `latest`). */
  readonly image: string;
  /** Pods of one revision; production needs at least 2 for zero downtime (config enforces it). */
  readonly replicas: number;
  /** Service account the pods run as (created here, with no API token mounted). */
  readonly serviceAccountName: string;
  /** Annotations of the service account, e.g. `eks.amazonaws.com/role-arn` for IRSA. @default none */
  readonly serviceAccountAnnotations?: Record<string, string>;
  /** Port the container listens on; the Services expose it under the same number. @default 8080 */
  readonly port?: number;
  /** Plain environment variables. @default none */
  readonly env?: EnvValue[];
  /** Environment variables from Secrets (secretKeyRef); never values. @default none */
  readonly secretEnv?: EnvSecretRef[];
  /** Readiness probe path: a pod gets traffic only once it answers 2xx here. @default "/readyz" */
  readonly readinessPath?: string;
  /** Liveness probe path: the kubelet restarts a pod that stops answering. @default "/healthz" */
  readonly livenessPath?: string;
  /**
   * Seconds a terminating pod keeps serving (preStop sleep) while endpoints and sidecars drop it,
   * so no in-flight or newly routed request is refused. @default 10
   */
  readonly preStopSleepSeconds?: number;
  /** Resource requests (what the scheduler reserves). @default { cpu: "100m", memory: "128Mi" } */
  readonly requests?: ResourceQuantities;
  /** Resource limits. @default { cpu: "1", memory: "512Mi" } */
  readonly limits?: ResourceQuantities;
  /**
   * Seconds the previous (blue) ReplicaSet keeps running after promotion, so in-flight requests
   * finish and every node's iptables see the switch. Argo recommends at least 30. @default 30
   */
  readonly scaleDownDelaySeconds?: number;
  /**
   * Seconds the new (green) ReplicaSet keeps running after an abort, so requests the preview
   * Service was serving finish. 0 would keep it forever. @default scaleDownDelaySeconds
   */
  readonly abortScaleDownDelaySeconds?: number;
  /** Pods the PodDisruptionBudget keeps available during voluntary disruptions. @default max(1, replicas - 1) */
  readonly minAvailable?: number;
  /** Extra labels of every object and pod. @default none */
  readonly labels?: Record<string, string>;
  /** Extra annotations of the pod template (e.g. scrape hints). @default none */
  readonly podAnnotations?: Record<string, string>;
  /** Resources that must exist first (the Argo Rollouts CRDs, the namespace). @default none */
  readonly dependsOn?: ITerraformDependable[];
  /**
   * Gates promotion on an SLO: an AnalysisTemplate whose Job runs slo_gate.js with the SLO's
   * thresholds against the preview Service before promotion and against the active Service after
   * it. The rollout then promotes by itself when the pre-promotion gate passes; any failure
   * (breach, no data, too little traffic) aborts it, and the active Service stays on (or returns
   * to) the previous revision. @default none: a person promotes
   */
  readonly sloGate?: SloGateProps;
}

/** A service level objective the rollout is gated on (config.rollout.slo has this shape). */
export interface ServiceLevelObjective {
  /** Lookback of every SLI, a Prometheus duration such as 5m. */
  readonly window: string;
  /** Highest share of 5xx responses, 0-1. */
  readonly maxErrorRatio: number;
  /** Highest p99 latency, in milliseconds. */
  readonly maxP99Ms: number;
  /** Fewest requests in the window for a decision; fewer fails the gate (never passes on no data). */
  readonly minRequests: number;
}

/** The SLO a rollout is gated on, and how the gate reaches its data. */
export interface SloGateProps {
  /** The thresholds (config.rollout.slo). */
  readonly slo: ServiceLevelObjective;
  /** Prometheus base URL the analysis Job queries (config.prometheusUrl). */
  readonly prometheusUrl: string;
  /** Image that runs `node` for the Job (slo_gate.js is mounted from a ConfigMap). @default the rollout's image */
  readonly image?: string;
  /** Service account of the Job's pods (created here; its mesh identity must be allowed to reach Prometheus). @default "slo-gate" */
  readonly serviceAccountName?: string;
  /**
   * Wait before measuring, so the window holds only traffic of the new revision (preview traffic
   * before promotion, production traffic after it). @default the SLO window
   */
  readonly initialDelay?: string;
  /** Limit of all Prometheus queries of one measurement. @default "30s" */
  readonly queryTimeout?: string;
}

/** What {@link BlueGreenRolloutProps.sloGate} made. */
export interface SloGate {
  readonly analysisTemplate: K8sManifest;
  readonly scriptConfigMap: ConfigMapV1;
  readonly serviceAccount: ServiceAccountV1;
  /** Argument names of the AnalysisTemplate: the Rollout passes `service-name` per phase. */
  readonly args: { readonly service: string; readonly namespace: string; readonly prometheusUrl: string };
}

const promDuration = /^[1-9]\d*(s|m|h)$/;
const quantity = /^\d+(\.\d+)?(m|Mi|Gi|Ki)?$/;

function fail(prop: string, allowed: string, got: unknown): never {
  throw new Error(`BlueGreenRollout: ${prop} must be ${allowed} (got ${JSON.stringify(got)})`);
}

/**
 * The compliance service (or any HTTP service) as an Argo Rollout with the blue/green strategy:
 * an active Service that carries production traffic and a preview Service for the new revision,
 * zero-downtime basics (readiness/liveness probes, preStop drain, PodDisruptionBudget, requests
 * and limits, non-root read-only pods) and, with `sloGate`, an SLO gate: an AnalysisTemplate
 * whose Job runs tools/ci/slo_gate.js before and after promotion. A failed gate aborts the
 * rollout and leaves (or puts back) traffic on the active, blue side.
 *
 * Ungated, the rollout never promotes by itself (`autoPromotionEnabled: false`): a person does.
 */
export class BlueGreenRollout extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly activeService: ServiceV1;
  readonly previewService: ServiceV1;
  /** Name of the active Service (production traffic); the rollout's name. */
  readonly activeServiceName: string;
  /** Name of the preview Service (the new revision before promotion): `<name>-preview`. */
  readonly previewServiceName: string;
  readonly serviceAccount: ServiceAccountV1;
  readonly podDisruptionBudget: PodDisruptionBudgetV1;
  readonly rollout: K8sManifest;
  /** The labels that select this rollout's pods. */
  readonly selectorLabels: Readonly<Record<string, string>>;
  /** The SLO gate, when `sloGate` was given. */
  readonly sloGate?: SloGate;
  private readonly manifest: ManifestObject;
  private readonly props: BlueGreenRolloutProps;

  constructor(scope: Construct, id: string, props: BlueGreenRolloutProps) {
    super(scope, id);
    this.props = props;
    const port = props.port ?? 8080;
    if (!dnsLabelPattern.test(props.name)) fail("name", "a DNS-1123 label", props.name);
    if (!dnsLabelPattern.test(props.namespace)) fail("namespace", "a DNS-1123 label", props.namespace);
    if (!dnsLabelPattern.test(props.serviceAccountName)) fail("serviceAccountName", "a DNS-1123 label", props.serviceAccountName);
    if (!/^[^\s:]+(:\d+)?(\/[^\s:]+)*:[\w][\w.-]{0,127}$/.test(props.image) || props.image.endsWith(":latest"))
      fail("image", "repository:tag with a pinned tag (not latest)", props.image);
    if (!Number.isInteger(props.replicas) || props.replicas < 1) fail("replicas", "an integer >= 1", props.replicas);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail("port", "an integer 1-65535", port);
    const preStop = props.preStopSleepSeconds ?? 10;
    if (!Number.isInteger(preStop) || preStop < 1 || preStop > 120)
      fail("preStopSleepSeconds", "an integer 1-120 (a pod must drain before it stops)", preStop);
    const scaleDownDelay = props.scaleDownDelaySeconds ?? 30;
    if (!Number.isInteger(scaleDownDelay) || scaleDownDelay < 30)
      fail("scaleDownDelaySeconds", "an integer >= 30 (in-flight requests and iptables need time to move)", scaleDownDelay);
    const abortDelay = props.abortScaleDownDelaySeconds ?? scaleDownDelay;
    if (!Number.isInteger(abortDelay) || abortDelay < 1)
      fail("abortScaleDownDelaySeconds", "an integer >= 1 (0 would never scale the aborted revision down)", abortDelay);
    const minAvailable = props.minAvailable ?? Math.max(1, props.replicas - 1);
    if (!Number.isInteger(minAvailable) || minAvailable < 1 || minAvailable > props.replicas)
      fail("minAvailable", `an integer 1-${props.replicas} (replicas)`, minAvailable);
    const requests = props.requests ?? { cpu: "100m", memory: "128Mi" };
    const limits = props.limits ?? { cpu: "1", memory: "512Mi" };
    for (const [prop, q] of Object.entries({ requests, limits })) {
      if (!quantity.test(q.cpu)) fail(`${prop}.cpu`, "a Kubernetes CPU quantity such as 100m or 1", q.cpu);
      if (!quantity.test(q.memory)) fail(`${prop}.memory`, "a Kubernetes memory quantity such as 128Mi", q.memory);
    }
    for (const e of props.secretEnv ?? []) {
      if (!dnsLabelPattern.test(e.secretName) && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(e.secretName))
        fail(`secretEnv ${e.name}.secretName`, "a Kubernetes Secret name", e.secretName);
    }

    this.name = props.name;
    this.namespace = props.namespace;
    const labels = { "app.kubernetes.io/name": props.name, "app.kubernetes.io/part-of": "maestro", ...props.labels };
    this.selectorLabels = { "app.kubernetes.io/name": props.name };
    const signed = { [bundleSignatureRequiredAnnotation]: bundleSignatureRequiredValue };

    this.serviceAccount = new ServiceAccountV1(this, "service-account", {
      provider: props.kubernetes,
      metadata: { name: props.serviceAccountName, namespace: props.namespace, labels, annotations: props.serviceAccountAnnotations },
      // The service talks to no Kubernetes API; IRSA's web-identity token is projected separately.
      automountServiceAccountToken: false,
      dependsOn: props.dependsOn,
    });

    // Argo Rollouts adds the pod-template-hash to each selector and its annotation to each Service;
    // Terraform must not undo that on the next apply.
    const service = (serviceId: string, serviceName: string, role: string) =>
      new ServiceV1(this, serviceId, {
        provider: props.kubernetes,
        metadata: { name: serviceName, namespace: props.namespace, labels: { ...labels, "maestro.io/rollout-role": role } },
        spec: {
          type: "ClusterIP",
          selector: { ...this.selectorLabels },
          port: [{ name: "http", port, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
        },
        lifecycle: {
          ignoreChanges: [`spec[0].selector["${podTemplateHashLabel}"]`, `metadata[0].annotations["${managedByAnnotation}"]`],
        },
        dependsOn: props.dependsOn,
      });
    this.activeServiceName = props.name;
    this.previewServiceName = `${props.name}-preview`;
    this.activeService = service("active-service", this.activeServiceName, "active");
    this.previewService = service("preview-service", this.previewServiceName, "preview");

    this.podDisruptionBudget = new PodDisruptionBudgetV1(this, "pdb", {
      provider: props.kubernetes,
      metadata: { name: props.name, namespace: props.namespace, labels },
      spec: { minAvailable: String(minAvailable), selector: { matchLabels: { ...this.selectorLabels } } },
      dependsOn: props.dependsOn,
    });

    const container = {
      name: props.name,
      image: props.image,
      imagePullPolicy: "IfNotPresent",
      ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
      env: [
        ...(props.env ?? []).map((e) => ({ name: e.name, value: e.value })),
        ...(props.secretEnv ?? []).map((e) => ({ name: e.name, valueFrom: { secretKeyRef: { name: e.secretName, key: e.secretKey } } })),
      ],
      resources: { requests: { ...requests }, limits: { ...limits } },
      readinessProbe: {
        httpGet: { path: props.readinessPath ?? "/readyz", port: "http" },
        periodSeconds: 5,
        timeoutSeconds: 2,
        failureThreshold: 3,
      },
      livenessProbe: {
        httpGet: { path: props.livenessPath ?? "/healthz", port: "http" },
        initialDelaySeconds: 10,
        periodSeconds: 10,
        timeoutSeconds: 2,
        failureThreshold: 3,
      },
      // The kubelet's own sleep (no shell in the image needed): keep serving while endpoints drop the pod.
      lifecycle: { preStop: { sleep: { seconds: preStop } } },
      securityContext: containerSecurityContext(),
      volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };

    // The gate comes first: the Rollout names its AnalysisTemplate and depends on it (Argo refuses
    // a Rollout whose AnalysisTemplate does not exist yet).
    this.sloGate = props.sloGate ? this.makeSloGate(props.sloGate) : undefined;
    const gate = this.sloGate;
    const analysis = (serviceName: string) => ({
      templates: [{ templateName: gate!.analysisTemplate.object.metadata.name }],
      args: [{ name: gate!.args.service, value: serviceName }],
    });

    this.manifest = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Rollout",
      metadata: { name: props.name, namespace: props.namespace, labels, annotations: { ...signed } },
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 3,
        selector: { matchLabels: { ...this.selectorLabels } },
        template: {
          metadata: { labels: { ...labels }, annotations: { ...props.podAnnotations, ...signed } },
          spec: {
            serviceAccountName: props.serviceAccountName,
            automountServiceAccountToken: false,
            // preStop sleep + time for the server to finish what it accepted.
            terminationGracePeriodSeconds: preStop + 20,
            securityContext: podSecurityContext({ runAsUser: serviceUid, runAsGroup: serviceUid, fsGroup: serviceUid }),
            containers: [container],
            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
          },
        },
        strategy: {
          blueGreen: {
            activeService: this.activeServiceName,
            previewService: this.previewServiceName,
            // Ungated, a person promotes (kubectl argo rollouts promote); gated, the gate decides:
            // promote as soon as the pre-promotion analysis succeeds.
            autoPromotionEnabled: gate !== undefined,
            scaleDownDelaySeconds: scaleDownDelay,
            abortScaleDownDelaySeconds: abortDelay,
            ...(gate
              ? { prePromotionAnalysis: analysis(this.previewServiceName), postPromotionAnalysis: analysis(this.activeServiceName) }
              : {}),
          },
        },
      },
    };
    this.rollout = new K8sManifest(this, "rollout", {
      kubernetes: props.kubernetes,
      manifest: this.manifest,
      dependsOn: [
        this.serviceAccount,
        this.activeService,
        this.previewService,
        ...(props.dependsOn ?? []),
        ...(gate ? [gate.analysisTemplate.resource] : []),
      ],
    });
  }

  /** The Rollout object as it is synthesized. */
  get rolloutObject(): ManifestObject {
    return this.manifest;
  }

  /** The AnalysisTemplate, its script ConfigMap and the gate Job's service account. */
  private makeSloGate(options: SloGateProps): SloGate {
    const { slo } = options;
    const where = "BlueGreenRollout: sloGate";
    if (!promDuration.test(slo.window))
      throw new Error(`${where}: slo.window must be a Prometheus duration such as 5m (got "${slo.window}")`);
    if (!(slo.maxErrorRatio >= 0 && slo.maxErrorRatio <= 1))
      throw new Error(`${where}: slo.maxErrorRatio must be 0-1 (got ${slo.maxErrorRatio})`);
    if (!(slo.maxP99Ms > 0)) throw new Error(`${where}: slo.maxP99Ms must be a positive number of milliseconds (got ${slo.maxP99Ms})`);
    if (!Number.isInteger(slo.minRequests) || slo.minRequests < 1)
      throw new Error(`${where}: slo.minRequests must be an integer >= 1 (got ${slo.minRequests})`);
    if (!/^https?:\/\/[^\s]+$/.test(options.prometheusUrl))
      throw new Error(`${where}: prometheusUrl must be an http(s) URL (got "${options.prometheusUrl}")`);
    const initialDelay = options.initialDelay ?? slo.window;
    if (!promDuration.test(initialDelay)) throw new Error(`${where}: initialDelay must be a duration such as 5m (got "${initialDelay}")`);
    const queryTimeout = options.queryTimeout ?? "30s";
    if (!/^[1-9]\d*(s|ms)$/.test(queryTimeout))
      throw new Error(`${where}: queryTimeout must be a duration such as 30s (got "${queryTimeout}")`);
    const gateAccount = options.serviceAccountName ?? "slo-gate";
    if (!dnsLabelPattern.test(gateAccount)) throw new Error(`${where}: serviceAccountName must be a DNS-1123 label (got "${gateAccount}")`);

    const name = `${this.name}-slo-gate`;
    const labels = { "app.kubernetes.io/name": "slo-gate", "app.kubernetes.io/part-of": "maestro", "maestro.io/rollout": this.name };
    const signed = { [bundleSignatureRequiredAnnotation]: bundleSignatureRequiredValue };
    const args = { service: "service-name", namespace: "namespace", prometheusUrl: "prometheus-url" } as const;

    const scriptConfigMap = new ConfigMapV1(this, "slo-gate-script", {
      provider: this.props.kubernetes,
      metadata: { name, namespace: this.namespace, labels },
      data: { "slo_gate.js": embedFile(sloGateScriptPath) },
      dependsOn: this.props.dependsOn,
    });
    const serviceAccount = new ServiceAccountV1(this, "slo-gate-service-account", {
      provider: this.props.kubernetes,
      metadata: { name: gateAccount, namespace: this.namespace, labels },
      automountServiceAccountToken: false,
      dependsOn: this.props.dependsOn,
    });

    const timeoutSeconds = queryTimeout.endsWith("ms") ? Math.ceil(parseInt(queryTimeout, 10) / 1000) : parseInt(queryTimeout, 10);
    const template: ManifestObject = {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AnalysisTemplate",
      metadata: { name, namespace: this.namespace, labels },
      spec: {
        args: [
          { name: args.service },
          { name: args.namespace, value: this.namespace },
          { name: args.prometheusUrl, value: options.prometheusUrl },
        ],
        metrics: [
          {
            name: "slo",
            initialDelay,
            // One measurement; the Job's exit status is the verdict (0 → Successful, else → Failed).
            count: 1,
            failureLimit: 0,
            provider: {
              job: {
                metadata: { labels, annotations: { ...signed } },
                spec: {
                  // A breach must fail the measurement at once, not be retried into a pass.
                  backoffLimit: 0,
                  activeDeadlineSeconds: timeoutSeconds + 120,
                  template: {
                    metadata: {
                      labels,
                      // Native sidecar (Istio >= 1.27 default): the Job completes when slo_gate.js exits,
                      // and still reaches Prometheus over mesh mTLS.
                      annotations: { ...signed, "sidecar.istio.io/nativeSidecar": "true" },
                    },
                    spec: {
                      restartPolicy: "Never",
                      serviceAccountName: gateAccount,
                      automountServiceAccountToken: false,
                      securityContext: podSecurityContext({ runAsUser: serviceUid, runAsGroup: serviceUid }),
                      containers: [
                        {
                          name: "slo-gate",
                          image: options.image ?? this.props.image,
                          imagePullPolicy: "IfNotPresent",
                          command: ["node", `${sloGateMountPath}/slo_gate.js`],
                          args: [
                            "--prometheus",
                            `{{args.${args.prometheusUrl}}}`,
                            "--service",
                            `{{args.${args.service}}}`,
                            "--namespace",
                            `{{args.${args.namespace}}}`,
                            "--window",
                            slo.window,
                            "--max-error-ratio",
                            String(slo.maxErrorRatio),
                            "--max-p99-ms",
                            String(slo.maxP99Ms),
                            "--min-requests",
                            String(slo.minRequests),
                            "--timeout",
                            queryTimeout,
                            "--format",
                            "json",
                          ],
                          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
                          securityContext: containerSecurityContext(),
                          volumeMounts: [{ name: "slo-gate", mountPath: sloGateMountPath, readOnly: true }],
                        },
                      ],
                      volumes: [{ name: "slo-gate", configMap: { name, defaultMode: 0o444 } }],
                    },
                  },
                },
              },
            },
          },
        ],
      },
    };
    const analysisTemplate = new K8sManifest(this, "analysis-template", {
      kubernetes: this.props.kubernetes,
      manifest: template,
      dependsOn: [scriptConfigMap, serviceAccount, ...(this.props.dependsOn ?? [])],
    });

    return { analysisTemplate, scriptConfigMap, serviceAccount, args };
  }
}
