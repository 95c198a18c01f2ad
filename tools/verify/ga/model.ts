// The GA checklist as data: what the runbook asks, what ran, and the verdict.

export type Status = "PASS" | "FAIL" | "NEEDS CLUSTER";

/** The runbook's areas, in its order. */
export const sections = [
  { id: "deploy", title: "Deployable as synthesized" },
  { id: "mtls", title: "Zero-trust mesh (mTLS)" },
  { id: "policy", title: "Policy supply chain" },
  { id: "rollouts", title: "Blue/green rollouts gated by SLOs" },
  { id: "audit", title: "Immutable audit" },
  { id: "dr", title: "HA + DR" },
  { id: "identity", title: "SSO, SCIM and least privilege" },
  { id: "compliance", title: "Compliance dashboard" },
] as const;
export type SectionId = (typeof sections)[number]["id"];

/** What a check found. `detail` says what was measured, in a line a release manager can read. */
export interface Outcome {
  status: "PASS" | "FAIL";
  detail: string;
}

/** One line of the runbook. A check runs here (local), against the kube context (cluster), or both. */
export interface Check {
  id: string;
  section: SectionId;
  /** The runbook's wording: what must hold. */
  title: string;
  local?: (ctx: CheckContext) => Promise<Outcome>;
  /** Limit of the local check, ms, when it needs longer than the run's default (240 s). */
  localTimeoutMs?: number;
  /**
   * The local check runs in processes of its own and shares nothing with the others (its own
   * control plane, say): the run starts it first, beside the rest, and reports it in its place.
   * For a long check that mostly waits (the real controller's rollouts, timed by their SLO windows).
   */
  startsEarly?: boolean;
  /** The exact command that checks it on a cluster; with --cluster it runs, exit 0 = PASS. */
  cluster?: string;
  /**
   * What the cluster command needs that the local control plane (--local-cluster) does not have:
   * a data plane (sidecars, live traffic) or a cloud account. Such a check stays NEEDS CLUSTER there.
   */
  needs?: string;
  /**
   * How the command's subject exists on the local control plane, when that differs from a cluster
   * (pods the host kubelet ran, or kwok's that run nothing): added to the detail there.
   */
  onLocalCluster?: string;
}

export interface CheckContext {
  /** Environment the cluster checks and the service checks use. */
  env: string;
  /** A scratch folder for this run (removed at the end). */
  scratch: string;
  /** Memoized per run: the same synth or service is shared by the checks that need it. */
  once<T>(key: string, make: () => Promise<T>): Promise<T>;
  /** Registers cleanup (servers, processes) for the end of the run. */
  onClose(fn: () => Promise<void> | void): void;
}

export interface Result {
  id: string;
  section: SectionId;
  title: string;
  status: Status;
  detail: string;
  /** For NEEDS CLUSTER (and cluster runs): the command. */
  command?: string;
  durationMs: number;
}

export interface GaReport {
  env: string;
  /** Where the cluster commands ran: nowhere (false), the kube context (true), or the local control plane. */
  cluster: boolean | "local";
  /** FAIL when any check fails; else PASS (locally, cluster checks pending) or PASS (everything ran). */
  verdict: "PASS" | "FAIL";
  counts: Record<Status, number>;
  results: Result[];
  /** The checks or sections chosen with --only: a part of the checklist, which never says "tag". */
  only?: string[];
}
