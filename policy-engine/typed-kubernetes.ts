// Typed `kubernetes_*_v1` resources (Terraform block trees) → the Kubernetes API object the
// provider sends for them. The one converter: the policy input reads its output, and the local
// control plane (tools/cluster) applies it with strict field validation, so a field this module
// names wrongly or types wrongly is refused by a real API server (__tests__/tools/cluster).
import { MaestroError } from "../lib/errors";

/** A Kubernetes object in API shape. */
export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

// Typed resource (without `kubernetes_` and `_vN`) → Kubernetes kind and apiVersion.
export const typedKinds: Readonly<Record<string, readonly [kind: string, apiVersion: string]>> = {
  deployment: ["Deployment", "apps/v1"],
  stateful_set: ["StatefulSet", "apps/v1"],
  daemon_set: ["DaemonSet", "apps/v1"],
  daemonset: ["DaemonSet", "apps/v1"],
  replica_set: ["ReplicaSet", "apps/v1"],
  job: ["Job", "batch/v1"],
  cron_job: ["CronJob", "batch/v1"],
  pod: ["Pod", "v1"],
  secret: ["Secret", "v1"],
  config_map: ["ConfigMap", "v1"],
  service: ["Service", "v1"],
  service_account: ["ServiceAccount", "v1"],
  namespace: ["Namespace", "v1"],
  role: ["Role", "rbac.authorization.k8s.io/v1"],
  cluster_role: ["ClusterRole", "rbac.authorization.k8s.io/v1"],
  role_binding: ["RoleBinding", "rbac.authorization.k8s.io/v1"],
  cluster_role_binding: ["ClusterRoleBinding", "rbac.authorization.k8s.io/v1"],
  network_policy: ["NetworkPolicy", "networking.k8s.io/v1"],
  persistent_volume_claim: ["PersistentVolumeClaim", "v1"],
  persistent_volume: ["PersistentVolume", "v1"],
  pod_disruption_budget: ["PodDisruptionBudget", "policy/v1"],
  horizontal_pod_autoscaler: ["HorizontalPodAutoscaler", "autoscaling/v2"],
};

// Repeated blocks whose API field is the plural. Applied only when the value is a list, because
// the same Terraform name is also a scalar elsewhere (`port` of a container vs. of an httpGet probe).
const listRenames: Readonly<Record<string, string>> = {
  container: "containers",
  init_container: "initContainers",
  ephemeral_container: "ephemeralContainers",
  volume: "volumes",
  volume_mount: "volumeMounts",
  volume_device: "volumeDevices",
  volume_claim_template: "volumeClaimTemplates",
  port: "ports",
  toleration: "tolerations",
  topology_spread_constraint: "topologySpreadConstraints",
  readiness_gate: "readinessGates",
  image_pull_secret: "imagePullSecrets",
  secret: "secrets",
  sysctl: "sysctls",
  option: "options",
  rule: "rules",
  subject: "subjects",
  match_expressions: "matchExpressions",
  cluster_role_selectors: "clusterRoleSelectors",
};

// Fields whose API spelling is not the camel case of the Terraform name.
const nameRenames: Readonly<Record<string, string>> = {
  cluster_ip: "clusterIP",
  cluster_ips: "clusterIPs",
  external_ips: "externalIPs",
  load_balancer_ip: "loadBalancerIP",
  pod_ip: "podIP",
  host_ip: "hostIP",
  ip_families: "ipFamilies",
  host_aliases: "hostAliases",
  image_pull_secrets: "imagePullSecrets",
  pod_cidr: "podCIDR",
  pod_cidrs: "podCIDRs",
  timezone: "timeZone",
  dataset_uuid: "datasetUUID",
};

// Map-valued attributes: their keys are user data (label keys, resource names), never renamed.
const mapAttributes = new Set([
  "labels",
  "annotations",
  "limits",
  "requests",
  "capacity",
  "match_labels",
  "node_selector",
  "selector_labels",
  "data",
  "string_data",
  "binary_data",
]);

// The provider declares these integers as strings in its schema and converts them before sending.
const integerStrings = new Set(["replicas", "run_as_user", "run_as_group", "fs_group", "ttl_seconds_after_finished", "toleration_seconds"]);
// File modes are octal strings in the provider ("0644"), decimal integers in the API.
const octalStrings = new Set(["default_mode", "mode"]);
// IntOrString fields: a numeric string is sent as a number (intstr.Parse).
const intOrStrings = new Set(["target_port", "port", "max_unavailable", "min_available", "max_surge"]);

// Attributes that steer Terraform or the provider and are never part of the object.
const providerOnly = new Set([
  "//",
  "provider",
  "depends_on",
  "lifecycle",
  "count",
  "for_each",
  "timeouts",
  "connection",
  "provisioner",
  "wait_for_rollout",
  "wait_for_load_balancer",
  "wait_for_completion",
  "wait_for_default_service_account",
]);

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The error for a value the provider itself would refuse to convert. */
export class TypedConversionError extends MaestroError<"TYPED_CONVERSION"> {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super("TYPED_CONVERSION", `${path}: ${message}`);
  }
}

function scalar(key: string, value: unknown, path: string): unknown {
  if (typeof value !== "string") return value;
  if (integerStrings.has(key)) {
    if (!/^-?\d+$/.test(value)) throw new TypedConversionError(path, `must be an integer (got "${value}")`);
    return Number(value);
  }
  if (octalStrings.has(key)) {
    if (!/^0?[0-7]{1,4}$/.test(value)) throw new TypedConversionError(path, `must be an octal file mode such as "0644" (got "${value}")`);
    return parseInt(value, 8);
  }
  if (intOrStrings.has(key) && /^\d+$/.test(value)) return Number(value);
  return value;
}

/**
 * Converts a typed resource's block tree to Kubernetes API field names and types, dropping
 * Terraform's own attributes. Values are kept as they are otherwise (references included).
 */
export function toKubernetesFields(value: unknown, path = ""): unknown {
  if (Array.isArray(value)) return value.map((v, i) => toKubernetesFields(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (providerOnly.has(key)) continue;
    const name = (Array.isArray(v) ? listRenames[key] : undefined) ?? nameRenames[key] ?? camel(key);
    const here = path ? `${path}.${key}` : key;
    if (mapAttributes.has(key)) out[name] = v;
    else if (v !== null && typeof v === "object") out[name] = toKubernetesFields(v, here);
    else out[name] = scalar(key, v, here);
  }
  return out;
}

/** `kubernetes_stateful_set_v1` → `stateful_set`; undefined for other types. */
export function typedBase(type: string): string | undefined {
  const m = /^kubernetes_(.+?)(_v\d+)?$/.exec(type);
  return m ? m[1] : undefined;
}

/** The API object a typed resource stands for, or undefined when `type` is not a typed kind. */
export function typedResourceToObject(type: string, values: Record<string, unknown>): ApiObject | undefined {
  const base = typedBase(type);
  const kind = base ? typedKinds[base] : undefined;
  if (!kind || !values.metadata) return undefined;
  const fields = toKubernetesFields(values, type) as Record<string, unknown>;
  return { ...fields, apiVersion: kind[1], kind: kind[0] } as ApiObject;
}
