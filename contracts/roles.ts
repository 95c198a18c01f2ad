// The duties of the platform, shared by the service (app/auth), the gateway's RBAC (constructs/gateway)
// and the configuration's group-to-role maps (config/schema.ts). Least to most privileged; see docs/identity.md.

export const roles = ["viewer", "operator", "auditor", "admin"] as const;
export type Role = (typeof roles)[number];
