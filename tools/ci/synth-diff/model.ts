// The synth diff as data: what the markdown renderer prints and what `--format json` emits for bots.
import type { GateReportJson, ReportedViolation } from "../../../contracts/violation";

/** Terraform JSON of one stack (cdktf.out/stacks/<id>/cdk.tf.json). */
export type StackJson = Record<string, unknown>;

/** One synth output: stack id → its Terraform JSON. */
export type SynthOutput = Map<string, StackJson>;

export type FieldAction = "added" | "removed" | "changed";
export type ResourceAction = "added" | "removed" | "changed";
export type StackStatus = "added" | "removed" | "changed" | "unchanged";

/** One leaf (or whole subtree) that differs between base and head. */
export interface FieldChange {
  /** Path inside the resource: `spec.mtls.mode`, `values[0].meshConfig.enableAutoMtls`, `containers[name=app].image`. */
  path: string;
  action: FieldAction;
  /** Base value (absent when added); "***" when masked. */
  old?: unknown;
  /** Head value (absent when removed); "***" when masked. */
  new?: unknown;
  /** Security category ids this field touches (see security.ts), most important first. */
  security: string[];
  /** True when old/new were replaced because they look like secrets. */
  masked?: boolean;
}

export interface ResourceChange {
  /** Terraform address inside the stack: `kubernetes_manifest.peer-authentication`, `output.namespaces`. */
  address: string;
  /** What the resource is, for a reader: `PeerAuthentication istio-system/default`, `helm chart istiod 1.27.3`. */
  label?: string;
  action: ResourceAction;
  /** From a plan: Terraform destroys and re-creates it. */
  replace?: boolean;
  /** Union of the fields' categories, plus the resource's own (adding or removing a PeerAuthentication is security-relevant). */
  security: string[];
  fields: FieldChange[];
}

export interface StackDiff {
  stack: string;
  status: StackStatus;
  /** Security-relevant changes first, then by address. */
  resources: ResourceChange[];
  /** Addresses present on both sides with no difference. */
  unchangedResources: number;
}

/** `npm run policy:check -- <dir> --format json` (policy-engine/report.ts): violations are denies. */
export type PolicyReport = GateReportJson;

export interface PolicyDiff {
  head: PolicyReport;
  base?: PolicyReport;
  /** Denies in head, not in base (matched on rule + stack + resource). */
  introduced: ReportedViolation[];
  /** Denies in base, gone in head. */
  fixed: ReportedViolation[];
}

export interface SynthDiff {
  base: string;
  head: string;
  stacks: StackDiff[];
  summary: {
    stacks: Record<StackStatus, number>;
    resources: Record<ResourceAction, number>;
    securityRelevant: number;
  };
  /** Absent when no policy verdicts were available; `policyUnavailable` says why. */
  policy?: PolicyDiff;
  policyUnavailable?: string;
}
