// The compliance service's environment kinds (MAESTRO_ENVIRONMENT), shared by the service
// (app/settings.ts: production refuses development-only conveniences) and the configuration
// (config/schema.ts: each environment says which kind its pods run as, so an environment named
// otherwise, such as `local`, still deploys a service that starts).
export const serviceEnvironments = ["development", "staging", "production"] as const;
export type ServiceEnvironment = (typeof serviceEnvironments)[number];

/** What a deployed environment may run as: development (a laptop's dev issuer and tokens) is never deployed. */
export const deployedServiceEnvironments = ["staging", "production"] as const satisfies readonly ServiceEnvironment[];
