import type { EnvironmentConfig } from "../../config/schema";

export { OidcGateway, type OidcGatewayProps } from "./oidc-gateway";
export { ScimSync, scimSchedule, type ScimSyncProps } from "./scim-sync";
export { DutyRbac, dutyRules, type DutyRbacProps, type DutyRule } from "./duty-rbac";

/**
 * The compliance service's identity settings for an environment (app/auth/settings.ts reads them):
 * plain values, and the SCIM sync token by Secret reference. The app stack spreads these into the
 * service's env so the service verifies the same issuer and mapping the gateway enforces.
 */
export function serviceIdentityEnv(config: EnvironmentConfig): {
  env: Array<{ name: string; value: string }>;
  secretEnv: Array<{ name: string; secretName: string; secretKey: string }>;
} {
  const { oidc, scim, groupRoles, restrictedLabels } = config.gateway;
  return {
    env: [
      { name: "OIDC_ISSUER", value: oidc.issuer },
      { name: "OIDC_AUDIENCE", value: oidc.audiences.join(",") },
      { name: "AUTHZ_ROLE_SOURCE", value: "directory" },
      {
        name: "GROUP_ROLES",
        value: Object.entries(groupRoles)
          .map(([g, r]) => `${g}=${r}`)
          .join(","),
      },
      { name: "RESTRICTED_LABELS", value: restrictedLabels.join(",") },
    ],
    secretEnv: [{ name: "SCIM_SYNC_TOKEN", secretName: scim.secretName, secretKey: "sync-token" }],
  };
}
