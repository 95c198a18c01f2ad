// Which changes a reviewer must see first. A category matches on the resource (Terraform type or
// Kubernetes kind) and/or the changed path; a field may touch several categories.

export interface SecurityCategory {
  id: string;
  /** Shown to reviewers. */
  title: string;
  /** Resource types / kinds that are security-relevant as a whole (adding or removing one). */
  resource?: (type: string, kind: string | undefined) => boolean;
  /** A changed path inside a resource that touches this category. */
  field?: (path: string, type: string, kind: string | undefined) => boolean;
}

const isRbacKind = (kind?: string) => kind !== undefined && /^(Cluster)?Role(Binding)?$/.test(kind);
const isRbacType = (type: string) => /^kubernetes_(cluster_)?role(_binding)?(_v1)?$/.test(type);
const isIamType = (type: string) => type.startsWith("aws_iam_") || type === "data.aws_iam_policy_document";

/** In review order: the first category of a change decides where it sorts. */
export const securityCategories: SecurityCategory[] = [
  {
    id: "mtls",
    title: "mTLS mode",
    resource: (_t, kind) => kind === "PeerAuthentication",
    field: (path, _t, kind) => kind === "PeerAuthentication" || /mtls/i.test(path),
  },
  {
    id: "tls",
    title: "TLS mode",
    resource: (_t, kind) => kind === "DestinationRule",
    field: (path, _t, kind) =>
      (kind === "DestinationRule" && /\btls\b/i.test(path)) || /(^|[._[])tls([._\]]|$)|tls_?mode|SecureTransport/i.test(path),
  },
  {
    id: "authorization",
    title: "Mesh authorization",
    resource: (_t, kind) => kind === "AuthorizationPolicy",
    field: (_p, _t, kind) => kind === "AuthorizationPolicy",
  },
  {
    id: "object-lock",
    title: "Object Lock",
    resource: (type) => /object_lock/.test(type),
    field: (path, type) => /object_?lock/i.test(path) || /object_lock/.test(type),
  },
  {
    id: "retention",
    title: "Retention",
    field: (path, type) => /retention|retain|expiration|noncurrent_days/i.test(path) || (/lifecycle/.test(type) && /days/i.test(path)),
  },
  {
    id: "iam",
    title: "IAM policy",
    resource: (type) => isIamType(type) || /_policy$/.test(type),
    field: (path, type) =>
      isIamType(type) ||
      (type.startsWith("aws_") && /(^|\.)(policy|assume_role_policy)(\.|\[|$)/.test(path)) ||
      /serviceaccount.*role-arn/i.test(path),
  },
  {
    id: "rbac",
    title: "RBAC rules",
    resource: (type, kind) => isRbacType(type) || isRbacKind(kind),
    field: (path, type, kind) => isRbacType(type) || isRbacKind(kind) || /(^|\.)rbac(\.|$)/i.test(path),
  },
  {
    id: "rollout-strategy",
    title: "Rollout strategy",
    resource: (type, kind) => kind === "Rollout" || kind === "Deployment" || /^kubernetes_deployment/.test(type),
    field: (path, type, kind) =>
      ((kind === "Rollout" || kind === "Deployment" || /^kubernetes_deployment/.test(type)) && /(^|\.)strategy(\.|$)/.test(path)) ||
      /autoPromotion|scaleDownDelay|abortScaleDown/i.test(path),
  },
  {
    id: "analysis",
    title: "Rollout analysis",
    resource: (_t, kind) => kind === "AnalysisTemplate" || kind === "ClusterAnalysisTemplate",
    field: (path, _t, kind) => kind === "AnalysisTemplate" || kind === "ClusterAnalysisTemplate" || /analysis/i.test(path),
  },
  {
    id: "policy-signature",
    title: "Policy bundle signature",
    field: (path) => /bundle-signature-required|ALLOW_UNSIGNED_POLICY/i.test(path),
  },
  {
    id: "encryption",
    title: "Encryption",
    resource: (type) => type === "aws_kms_key" || /server_side_encryption/.test(type),
    field: (path, type) => /server_side_encryption|sse_algorithm|kms_master_key|kms_key|encrypt/i.test(path) || type === "aws_kms_key",
  },
  {
    id: "public-access",
    title: "Public access",
    resource: (type) => type === "aws_s3_bucket_public_access_block",
    field: (path, type) =>
      type === "aws_s3_bucket_public_access_block" || /block_public|restrict_public|ignore_public|(^|\.)acl$/i.test(path),
  },
  {
    id: "pod-security",
    title: "Pod security",
    field: (path) =>
      /securityContext|security_context|runAsNonRoot|run_as_non_root|runAsUser|privileged|allowPrivilegeEscalation|readOnlyRootFilesystem|capabilities|hostNetwork|hostPID/i.test(
        path,
      ),
  },
];

const order = new Map(securityCategories.map((c, i) => [c.id, i]));

/** Category title by id. */
export function categoryTitle(id: string): string {
  return securityCategories.find((c) => c.id === id)?.title ?? id;
}

/** Categories a changed field touches, in review order. */
export function fieldCategories(path: string, type: string, kind: string | undefined): string[] {
  return securityCategories.filter((c) => c.field?.(path, type, kind)).map((c) => c.id);
}

/** Categories a resource belongs to as a whole, in review order. */
export function resourceCategories(type: string, kind: string | undefined): string[] {
  return securityCategories.filter((c) => c.resource?.(type, kind)).map((c) => c.id);
}

/** Sorts and de-duplicates category ids into review order. */
export function sortCategories(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99));
}
