import type { EnvironmentConfig } from "../../config/schema";
import type { Role } from "../../contracts/roles";
import { parseAllDocuments } from "yaml";
import { canI, type Kubectl } from "./control-plane";

/**
 * The intended duty matrix, written from the runbook's duties (docs/identity.md), not derived
 * from constructs/gateway/duty-rbac.ts: each row is one request a person of a duty may or may not
 * make inside the Maestro namespaces, and the duties allowed it. Everywhere else (other
 * namespaces, cluster scope) every duty is denied every row. `dutyMatrixDrift` asks an API server
 * with `kubectl auth can-i --as --as-group` for every cell, allowed and denied: the cluster suite
 * and `npm run cluster:rbac` (verify:ga's identity.rbac-live) both use it.
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

/** What `dutyMatrixDrift` asked and what differed from the matrix. */
export interface DutyMatrixResult {
  /** Cells asked (one SubjectAccessReview each). */
  cells: number;
  /** Cells also asked with `kubectl auth can-i --as --as-group`, to hold the reviews to kubectl's answer. */
  canI: number;
  /** `can-i --list` rule lists read outside the Maestro namespaces. */
  ruleLists: number;
  /** One line per cell whose answer is not the matrix's, and per extra rule outside; empty when none. */
  drift: string[];
}

// What every authenticated user may do anywhere (system:basic-user): the rest of a rule list outside is drift.
const defaultRules = [
  "selfsubjectaccessreviews.authorization.k8s.io",
  "selfsubjectreviews.authentication.k8s.io",
  "selfsubjectrulesreviews.authorization.k8s.io",
];

interface Cell {
  role: Role;
  group: string;
  row: DutyRow;
  ns: string;
  want: boolean;
}

const describeCell = (c: Cell) =>
  `${c.role} (${c.group}) ${c.row.verb} ${c.row.resource}${c.row.subresource ? ` --subresource=${c.row.subresource}` : ""} in ${c.ns}`;

// The person `--as=<role>-person --as-group=<group>` is, as a review's subject: impersonation adds system:authenticated.
const person = (c: Pick<Cell, "role" | "group">) => ({ user: `${c.role}-person`, groups: [c.group, "system:authenticated"] });

function review(c: Cell) {
  const dot = c.row.resource.indexOf(".");
  const [resource, group] = dot < 0 ? [c.row.resource, ""] : [c.row.resource.slice(0, dot), c.row.resource.slice(dot + 1)];
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      ...person(c),
      resourceAttributes: {
        namespace: c.ns,
        verb: c.row.verb,
        group,
        resource,
        ...(c.row.subresource ? { subresource: c.row.subresource } : {}),
      },
    },
  };
}

/**
 * Every cell of the duty matrix asked of the API server kubectl talks to, as a person of each
 * duty (user `<role>-person` in the environment's group of that role): inside the Maestro
 * namespaces every row for every duty; outside (istio-system, default) every row a duty has
 * inside must be denied, and its whole rule list there (`can-i --list`) must be the defaults.
 * The cells are SubjectAccessReviews sent in one request (what `can-i` asks, 600 of them in a
 * second instead of a minute of kubectl processes); for each duty one allowed and one denied
 * cell are also asked with `kubectl auth can-i --as --as-group`, and must get the same answer.
 */
export async function dutyMatrixDrift(kubectl: Kubectl, config: EnvironmentConfig): Promise<DutyMatrixResult> {
  const inside = [config.namespaces.app, config.namespaces.gateway, config.namespaces.data];
  const outside = [config.namespaces.istio, "default"];
  const groupOf = Object.fromEntries(Object.entries(config.gateway.groupRoles).map(([group, role]) => [role, group])) as Record<
    Role,
    string
  >;
  const roles = Object.keys(groupOf) as Role[];
  const cells: Cell[] = roles.flatMap((role) =>
    dutyMatrix.flatMap((row) => [
      ...inside.map((ns) => ({ role, group: groupOf[role], row, ns, want: row.allowed.includes(role) })),
      ...(row.allowed.includes(role) ? outside.map((ns) => ({ role, group: groupOf[role], row, ns, want: false })) : []),
    ]),
  );
  const answers = parseAllDocuments(
    await kubectl(["create", "-f", "-", "-o", "yaml"], JSON.stringify({ apiVersion: "v1", kind: "List", items: cells.map(review) })),
  ).map((d) => (d.toJS() as { status?: { allowed?: boolean } }).status?.allowed === true);
  if (answers.length !== cells.length) throw new Error(`rbac: sent ${cells.length} SubjectAccessReviews, got ${answers.length} answers`);
  const drift: string[] = [];
  cells.forEach((c, i) => {
    if (answers[i] !== c.want)
      drift.push(`${describeCell(c)}: wanted ${c.want ? "allowed" : "denied"}, got ${answers[i] ? "allowed" : "denied"}`);
  });
  // kubectl's own question for one allowed and one denied cell of each duty.
  const spot = roles.flatMap((role) =>
    [true, false].flatMap((want) => {
      const i = cells.findIndex((c) => c.role === role && c.want === want && inside.includes(c.ns));
      return i < 0 ? [] : [i];
    }),
  );
  for (const i of spot) {
    const c = cells[i];
    const args = [c.row.verb, c.row.resource, "-n", c.ns, `--as=${c.role}-person`, `--as-group=${c.group}`];
    if (c.row.subresource) args.push(`--subresource=${c.row.subresource}`);
    const got = await canI(kubectl, args);
    if (got !== answers[i])
      drift.push(
        `${describeCell(c)}: kubectl auth can-i says ${got ? "yes" : "no"}, the SubjectAccessReview ${answers[i] ? "allowed" : "denied"}`,
      );
  }
  for (const role of roles) {
    for (const ns of outside) {
      const list = await kubectl(["auth", "can-i", "--list", "-n", ns, `--as=${role}-person`, `--as-group=${groupOf[role]}`]);
      const resources = list
        .split("\n")
        .slice(1)
        .map((line) => /^(\S+)\s/.exec(line)?.[1])
        .filter((r): r is string => r !== undefined);
      if (resources.sort().join() !== defaultRules.join())
        drift.push(`${role} in ${ns}: may use ${resources.filter((r) => !defaultRules.includes(r)).join(", ")}`);
    }
  }
  return { cells: cells.length, canI: spot.length, ruleLists: roles.length * outside.length, drift: drift.sort() };
}
