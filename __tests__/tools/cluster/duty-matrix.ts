import type { Role } from "../../../contracts/roles";

/**
 * The intended duty matrix, written from the runbook's duties (docs/identity.md), not derived
 * from constructs/gateway/duty-rbac.ts: each row is one request a person of a duty may or may not
 * make inside the Maestro namespaces, and the duties allowed it. Everywhere else (other
 * namespaces, cluster scope) every duty is denied every row. The cluster suite asks the real API
 * server with `kubectl auth can-i --as --as-group` for every cell, allowed and denied.
 */
export interface DutyRow {
  verb: string;
  /** `resource.group` as kubectl takes it (core resources have no group). */
  resource: string;
  /** Asked with `--subresource` (`pods/log` would ask about a pod named "log"). */
  subresource?: string;
  allowed: readonly Role[];
}

const all: readonly Role[] = ["viewer", "operator", "auditor", "admin"];

export const dutyMatrix: readonly DutyRow[] = [
  // Seeing what runs: every duty.
  { verb: "get", resource: "pods", allowed: all },
  { verb: "list", resource: "pods", allowed: all },
  { verb: "watch", resource: "pods", allowed: all },
  { verb: "list", resource: "services", allowed: all },
  { verb: "get", resource: "configmaps", allowed: all },
  { verb: "list", resource: "events", allowed: all },
  { verb: "get", resource: "statefulsets.apps", allowed: all },
  { verb: "list", resource: "cronjobs.batch", allowed: all },
  { verb: "get", resource: "rollouts.argoproj.io", allowed: all },
  { verb: "list", resource: "analysisruns.argoproj.io", allowed: all },
  // Logs can carry request data: operators and admins only.
  { verb: "get", resource: "pods", subresource: "log", allowed: ["operator", "admin"] },
  // Running it: restarts, scaling, promotion/abort, manual Job runs.
  { verb: "delete", resource: "pods", allowed: ["operator", "admin"] },
  { verb: "patch", resource: "statefulsets.apps", subresource: "scale", allowed: ["operator", "admin"] },
  { verb: "update", resource: "deployments.apps", subresource: "scale", allowed: ["operator", "admin"] },
  { verb: "patch", resource: "rollouts.argoproj.io", allowed: ["operator", "admin"] },
  { verb: "create", resource: "jobs.batch", allowed: ["operator", "admin"] },
  // Changing what runs: admins only.
  { verb: "create", resource: "pods", allowed: ["admin"] },
  { verb: "update", resource: "configmaps", allowed: ["admin"] },
  { verb: "patch", resource: "statefulsets.apps", allowed: ["admin"] },
  { verb: "create", resource: "cronjobs.batch", allowed: ["admin"] },
  { verb: "delete", resource: "rollouts.argoproj.io", allowed: ["admin"] },
  { verb: "create", resource: "analysistemplates.argoproj.io", allowed: ["admin"] },
  { verb: "deletecollection", resource: "configmaps", allowed: ["admin"] },
  // Secrets: admins only, never anyone else.
  { verb: "get", resource: "secrets", allowed: ["admin"] },
  { verb: "list", resource: "secrets", allowed: ["admin"] },
  // Who may do what: auditors and admins read it; nobody here may change it.
  { verb: "get", resource: "roles.rbac.authorization.k8s.io", allowed: ["auditor", "admin"] },
  { verb: "list", resource: "rolebindings.rbac.authorization.k8s.io", allowed: ["auditor", "admin"] },
  { verb: "create", resource: "rolebindings.rbac.authorization.k8s.io", allowed: [] },
  { verb: "update", resource: "roles.rbac.authorization.k8s.io", allowed: [] },
  { verb: "get", resource: "peerauthentications.security.istio.io", allowed: ["auditor", "admin"] },
  { verb: "list", resource: "authorizationpolicies.security.istio.io", allowed: ["auditor", "admin"] },
  { verb: "get", resource: "networkpolicies.networking.k8s.io", allowed: ["auditor", "admin"] },
  { verb: "delete", resource: "authorizationpolicies.security.istio.io", allowed: ["admin"] },
  { verb: "patch", resource: "peerauthentications.security.istio.io", allowed: ["admin"] },
  // Never granted to any duty: a shell in a pod, impersonation, the service's own identity.
  { verb: "create", resource: "pods", subresource: "exec", allowed: [] },
  { verb: "create", resource: "pods", subresource: "portforward", allowed: [] },
  { verb: "create", resource: "serviceaccounts", subresource: "token", allowed: [] },
  { verb: "impersonate", resource: "users", allowed: [] },
];
