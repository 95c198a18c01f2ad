import { ConfigError, environments, loadEnvironment, resolveEnvironmentName, validateEnvironment } from "../../config/load";
import type { EnvironmentInput } from "../../config/schema";

function mutated(change: (cfg: EnvironmentInput) => void): EnvironmentInput {
  const copy = structuredClone(environments.staging) as EnvironmentInput;
  change(copy);
  return copy;
}

function problemsOf(input: unknown, name = "staging"): string[] {
  try {
    validateEnvironment(name, input);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

describe("environment selection", () => {
  test("staging is the default", () => expect(resolveEnvironmentName([], {})).toBe("staging"));
  test("MAESTRO_ENV selects an environment", () => expect(resolveEnvironmentName([], { MAESTRO_ENV: "production" })).toBe("production"));
  test("--env wins over MAESTRO_ENV, in both spellings", () => {
    expect(resolveEnvironmentName(["--env", "production"], { MAESTRO_ENV: "staging" })).toBe("production");
    expect(resolveEnvironmentName(["--env=production"], {})).toBe("production");
  });
  test("--env without a value is refused", () =>
    expect(() => resolveEnvironmentName(["--env"], {})).toThrow(/--env needs a value: one of staging, production/));
  test("an unknown environment is refused, naming the known ones", () =>
    expect(() => loadEnvironment("qa")).toThrow(/unknown environment 'qa': use one of staging, production, local/));
});

describe("every environment is valid", () => {
  test.each(["staging", "production", "local"])("%s", (name) => expect(loadEnvironment(name).name).toBe(name));
  // The service knows development, staging and production only: `local` deploys staging's pods.
  test.each([
    ["staging", "staging"],
    ["production", "production"],
    ["local", "staging"],
  ])("%s runs the service as MAESTRO_ENVIRONMENT=%s", (name, kind) => expect(loadEnvironment(name).serviceEnvironment).toBe(kind));
});

describe("bad values are refused with the key and what is allowed", () => {
  test.each<[string, (c: EnvironmentInput) => void, RegExp]>([
    ["retention of 0", (c) => (c.audit.retentionDays = 0), /^audit\.retentionDays: must be at least 1 day \(got 0\)$/],
    // A deployed service never runs as development (the dev issuer and its tokens).
    [
      "a service environment of development",
      (c) => ((c as { serviceEnvironment: string }).serviceEnvironment = "development"),
      /^serviceEnvironment: /,
    ],
    ["issuer that is not https", (c) => (c.gateway.oidc.issuer = "http://sso.example"), /^gateway\.oidc\.issuer: must use https:\/\//],
    [
      "cron that does not parse",
      (c) => (c.backup.baseBackupSchedule = "every day"),
      /^backup\.baseBackupSchedule: must be a 5-field cron expression/,
    ],
    [
      "cron with an out-of-range field",
      (c) => (c.backup.baseBackupSchedule = "0 25 * * *"),
      /^backup\.baseBackupSchedule: must be a 5-field cron/,
    ],
    ["missing value", (c) => delete (c as Partial<EnvironmentInput>).region, /^region: .*\(missing\)$/],
    ["malformed region", (c) => (c.region = "europe"), /^region: must be an AWS region/],
    ["no oauth2-proxy replica", (c) => (c.gateway.replicas = 0), /^gateway\.replicas: must be at least 1 \(got 0\)$/],
    ["no istiod replica", (c) => (c.platform.istiodMinReplicas = 0), /^platform\.istiodMinReplicas: must be at least 1 \(got 0\)$/],
    [
      "a fractional controller replica count",
      (c) => (c.platform.rolloutsControllerReplicas = 1.5),
      /^platform\.rolloutsControllerReplicas: .* \(got 1\.5\)$/,
    ],
    ["SCIM interval of 5 minutes", (c) => (c.gateway.scim.intervalMinutes = 5), /^gateway\.scim\.intervalMinutes: must be 1-4 minutes/],
    ["chart version range", (c) => (c.charts.istio.version = "^1.27"), /^charts\.istio\.version: must be a pinned version/],
    ["image tag latest", (c) => (c.images.postgres.tag = "latest"), /^images\.postgres\.tag: must be pinned, not 'latest'/],
    [
      "WAL-G older than v3.0.9",
      (c) => (c.images.walg.tag = "v3.0.8"),
      /^images\.walg\.tag: must be a WAL-G release vX\.Y\.Z, v3\.0\.9 or newer .*wal-g#2044\) \(got "v3\.0\.8"\)/,
    ],
    ["WAL-G v2", (c) => (c.images.walg.tag = "v2.0.1"), /^images\.walg\.tag: must be a WAL-G release/],
    ["WAL-G tag that is no release", (c) => (c.images.walg.tag = "master"), /^images\.walg\.tag: must be a WAL-G release/],
    ["unknown Object Lock mode", (c) => ((c.audit as { mode: string }).mode = "LEGAL"), /^audit\.mode: .*"COMPLIANCE"\|"GOVERNANCE"/],
    [
      "allow rule naming an unknown service",
      (c) => c.mesh.allow.push({ from: "ghost", to: "compliance" }),
      /^mesh\.allow\[\d+\]\.from: unknown service 'ghost'/,
    ],
    [
      "allow rule with no source",
      (c) => c.mesh.allow.push({ from: "", to: "compliance" }),
      /^mesh\.allow\[\d+\]\.from: must name a service/,
    ],
    [
      "service in an unknown namespace",
      (c) => (c.mesh.services[0].namespace = "nowhere"),
      /^mesh\.services\[0\]\.namespace: 'nowhere' is not one of the namespaces/,
    ],
    ["port out of range", (c) => (c.mesh.services[0].ports = [70000]), /^mesh\.services\[0\]\.ports\[0\]: must be 1-65535/],
    ["SLO error ratio above 1", (c) => (c.rollout.slo.maxErrorRatio = 2), /^rollout\.slo\.maxErrorRatio: must be 0-1/],
    [
      "permissive mTLS in the Istio root namespace",
      (c) => (c.mesh.permissiveNamespaces = ["istio-system"]),
      /^mesh\.permissiveNamespaces\[0\]: 'istio-system' must be a workload namespace/,
    ],
    [
      "workload label value too long",
      (c) => (c.mesh.services[0].workloadLabels = { app: "x".repeat(64) }),
      /^mesh\.services\[0\]\.workloadLabels\.app: must be a Kubernetes label value/,
    ],
    [
      "database URL Secret key with a slash",
      (c) => (c.rollout.databaseUrlSecret.key = "db/url"),
      /^rollout\.databaseUrlSecret\.key: must be a Secret key/,
    ],
    [
      "blue scaled down before in-flight requests finish",
      (c) => (c.rollout.scaleDownDelaySeconds = 5),
      /^rollout\.scaleDownDelaySeconds: must be at least 30 seconds/,
    ],
  ])("%s", (_label, change, expected) => {
    const problems = problemsOf(mutated(change));
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });

  test("production refuses a single replica", () => {
    const prod = structuredClone(environments.production) as EnvironmentInput;
    prod.rollout.replicas = 1;
    expect(problemsOf(prod, "production")).toEqual([expect.stringMatching(/^rollout\.replicas: production needs at least 2 replicas/)]);
  });

  test("every problem is reported at once", () => {
    const problems = problemsOf(mutated((c) => ((c.audit.retentionDays = 0), (c.region = "x"))));
    expect(problems).toHaveLength(2);
  });
});
