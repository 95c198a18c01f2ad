import { Construct } from "constructs";
import { ClusterRoleV1 } from "@cdktf/provider-kubernetes/lib/cluster-role-v1";
import { RoleBindingV1 } from "@cdktf/provider-kubernetes/lib/role-binding-v1";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { roles, type Role } from "../../contracts/roles";

/** One RBAC rule: exact API groups, resources and verbs (never "*"). */
export interface DutyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const read = ["get", "list", "watch"];
const write = ["create", "update", "patch", "delete"];
const workloads: DutyRule[] = [
  {
    apiGroups: [""],
    resources: ["pods", "services", "endpoints", "configmaps", "events", "serviceaccounts", "persistentvolumeclaims"],
    verbs: read,
  },
  { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "replicasets"], verbs: read },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: read },
  { apiGroups: ["argoproj.io"], resources: ["rollouts", "analysisruns", "analysistemplates"], verbs: read },
];
const securityConfig: DutyRule[] = [
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: read },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: read },
  { apiGroups: ["security.istio.io"], resources: ["authorizationpolicies", "peerauthentications", "requestauthentications"], verbs: read },
];

/**
 * What each duty may do inside the Maestro namespaces. Admin is an enumerated list too (so the
 * MAESTRO-K8S-004 wildcard rule holds without an exception): every verb on every kind Maestro runs.
 */
export const dutyRules: Readonly<Record<Role, DutyRule[]>> = {
  // Sees what runs; no logs (they can carry request data), no secrets.
  viewer: workloads,
  // Runs it: logs, restarts, rollout promotion/abort, manual CronJob runs. No secrets, no RBAC.
  operator: [
    ...workloads,
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
    { apiGroups: ["apps"], resources: ["deployments/scale", "statefulsets/scale"], verbs: ["patch", "update"] },
    { apiGroups: ["argoproj.io"], resources: ["rollouts"], verbs: ["patch", "update"] },
    { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create", "delete"] },
  ],
  // Reads the controls: workloads plus who may do what (RBAC, mesh and network policy). Read-only.
  auditor: [...workloads, ...securityConfig],
  admin: [
    {
      apiGroups: [""],
      resources: [
        "pods",
        "pods/log",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "events",
        "serviceaccounts",
        "persistentvolumeclaims",
      ],
      verbs: [...read, ...write, "deletecollection"],
    },
    {
      apiGroups: ["apps"],
      resources: ["deployments", "deployments/scale", "statefulsets", "statefulsets/scale", "replicasets"],
      verbs: [...read, ...write],
    },
    { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: [...read, ...write] },
    { apiGroups: ["argoproj.io"], resources: ["rollouts", "analysisruns", "analysistemplates"], verbs: [...read, ...write] },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: read },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: [...read, ...write] },
    {
      apiGroups: ["security.istio.io"],
      resources: ["authorizationpolicies", "peerauthentications", "requestauthentications"],
      verbs: [...read, ...write],
    },
  ],
};

export interface DutyRbacProps {
  /** The kubernetes provider that applies every object (the stack's). */
  readonly kubernetes: KubernetesProvider;
  /** Namespaces the duties apply in (RoleBindings there; nothing cluster-wide is granted). */
  readonly namespaces: string[];
  /** IdP group name → duty (config.gateway.groupRoles). */
  readonly groupRoles: Readonly<Record<string, Role>>;
  /** Prefix the cluster's OIDC authenticator puts before group names (EKS `groupsPrefix`). @default "" */
  readonly groupPrefix?: string;
}

/**
 * Least-privilege Kubernetes RBAC per duty: a ClusterRole per duty as the rule set (`maestro-<duty>`)
 * and, in each Maestro namespace, a RoleBinding of it to the IdP groups mapped to that duty —
 * so a duty never reaches beyond the Maestro namespaces.
 */
export class DutyRbac extends Construct {
  readonly clusterRoles: Partial<Record<Role, ClusterRoleV1>> = {};
  readonly bindings: RoleBindingV1[] = [];

  constructor(scope: Construct, id: string, props: DutyRbacProps) {
    super(scope, id);
    if (props.namespaces.length === 0) throw new Error("DutyRbac: namespaces must name at least one namespace");
    for (const [group, role] of Object.entries(props.groupRoles)) {
      if (!roles.includes(role)) throw new Error(`DutyRbac: groupRoles['${group}'] must be one of ${roles.join(", ")} (got '${role}')`);
    }
    const prefix = props.groupPrefix ?? "";
    for (const role of roles) {
      const groups = Object.entries(props.groupRoles)
        .filter(([, r]) => r === role)
        .map(([g]) => `${prefix}${g}`)
        .sort();
      const clusterRole = new ClusterRoleV1(this, `role-${role}`, {
        provider: props.kubernetes,
        metadata: { name: `maestro-${role}`, labels: { "app.kubernetes.io/part-of": "maestro", "maestro.io/duty": role } },
        rule: dutyRules[role].map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })),
      });
      this.clusterRoles[role] = clusterRole;
      if (groups.length === 0) continue; // a duty no group holds is defined but bound to nobody
      for (const namespace of props.namespaces) {
        this.bindings.push(
          new RoleBindingV1(this, `binding-${role}-${namespace}`, {
            provider: props.kubernetes,
            metadata: { name: `maestro-${role}`, namespace, labels: { "app.kubernetes.io/part-of": "maestro", "maestro.io/duty": role } },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `maestro-${role}` },
            subject: groups.map((name) => ({ kind: "Group", name, apiGroup: "rbac.authorization.k8s.io" })),
          }),
        );
      }
    }
  }
}
