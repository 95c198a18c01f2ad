import { Testing, TerraformStack } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { loadEnvironment } from "../../../config/load";
import { resourcesOf, synthAll } from "../../../harness/synth";
import { OidcGateway, ScimSync, scimSchedule, serviceIdentityEnv } from "../../../constructs/gateway";
import { scimSyncCommand } from "../../../constructs/gateway/scim-sync";
import { readIdentitySettings } from "../../../app/auth/settings";

// The gateway stack as Terraform JSON: oauth2-proxy pinned by Helm with secrets by reference, the
// SCIM CronJob on the configured interval with a powerless ServiceAccount, per-duty RBAC bound to groups.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each(["staging", "production"])("gateway stack (%s)", (envName) => {
  const config = loadEnvironment(envName);
  let stack: Json;
  beforeAll(async () => {
    stack = (await synthAll(envName)).gateway as Json;
  }, 120_000);

  test("oauth2-proxy by Helm at the pinned chart, https issuer, PKCE, secure cookies, mapped groups only", () => {
    const [release] = Object.values(resourcesOf(stack, "helm_release")) as Json[];
    expect(release).toMatchObject({
      chart: "oauth2-proxy",
      version: config.charts.oauth2Proxy.version,
      repository: config.charts.oauth2Proxy.repository,
    });
    const values = JSON.parse(release.values[0]);
    expect(values.config.existingSecret).toBe(config.gateway.oidc.secretName);
    expect(values.replicaCount).toBe(config.gateway.replicas);
    expect(values.image.tag).toBe(config.images.oauth2Proxy.tag);
    const file: string = values.config.configFile;
    expect(file).toContain(`oidc_issuer_url = "${config.gateway.oidc.issuer}"`);
    expect(config.gateway.oidc.issuer.startsWith("https://")).toBe(true);
    expect(file).toContain('code_challenge_method = "S256"');
    expect(file).toMatch(/^cookie_secure = true$/m);
    expect(file).toContain(`allowed_groups = ${JSON.stringify(Object.keys(config.gateway.groupRoles).sort()).replace(/,/g, ", ")}`);
    expect(file).toContain('upstreams = ["http://compliance.maestro.svc:8080"]');
  });

  test("secrets appear only as references: no Secret objects, no secret values", () => {
    const text = JSON.stringify(stack);
    expect(Object.keys(resourcesOf(stack, "kubernetes_secret_v1"))).toEqual([]);
    expect(text).not.toMatch(/client_?secret\s*=|cookie_?secret\s*=|clientSecret|cookieSecret/i);
    const [cron] = Object.values(resourcesOf(stack, "kubernetes_cron_job_v1")) as Json[];
    const env: Json[] = cron.spec.job_template.spec.template.spec.container[0].env;
    for (const name of ["SCIM_TOKEN", "SCIM_SYNC_TOKEN"]) {
      const entry = env.find((e) => e.name === name);
      expect(entry?.value).toBeUndefined();
      expect(entry?.value_from.secret_key_ref.name).toBe(config.gateway.scim.secretName);
    }
  });

  test("the SCIM CronJob runs every intervalMinutes (< 5), one at a time, each run shorter than the interval", () => {
    const [cron] = Object.values(resourcesOf(stack, "kubernetes_cron_job_v1")) as Json[];
    const n = config.gateway.scim.intervalMinutes;
    expect(cron.spec.schedule).toBe(n === 1 ? "* * * * *" : `*/${n} * * * *`);
    expect(cron.spec.concurrency_policy).toBe("Forbid");
    expect(cron.spec.job_template.spec.active_deadline_seconds).toBeLessThan(n * 60);
    expect(stack.output.scim_max_propagation_minutes.value).toBeLessThan(5 + 1);
    // The image's compiled CLI, which __tests__/app/image.test.ts runs inside the built image.
    const [container] = cron.spec.job_template.spec.template.spec.container;
    expect(container.command.slice(0, scimSyncCommand.length)).toEqual([...scimSyncCommand]);
    expect(container.command.slice(scimSyncCommand.length)).toEqual(["--push", expect.stringMatching(/^http:\/\/.+\/api\/scim\/sync$/)]);
  });

  test("the sync job's ServiceAccount has no token and no RBAC binding at all", () => {
    const [sa] = Object.values(resourcesOf(stack, "kubernetes_service_account_v1")) as Json[];
    expect(sa.metadata.name).toBe("scim-sync");
    expect(sa.automount_service_account_token).toBe(false);
    const [cron] = Object.values(resourcesOf(stack, "kubernetes_cron_job_v1")) as Json[];
    const pod = cron.spec.job_template.spec.template.spec;
    expect(pod).toMatchObject({ service_account_name: "scim-sync", automount_service_account_token: false });
    expect(pod.container[0].security_context).toMatchObject({
      run_as_non_root: true,
      allow_privilege_escalation: false,
      read_only_root_filesystem: true,
    });
    const bindings = [
      ...Object.values(resourcesOf(stack, "kubernetes_role_binding_v1")),
      ...Object.values(resourcesOf(stack, "kubernetes_cluster_role_binding_v1")),
    ] as Json[];
    expect(bindings.flatMap((b) => b.subject).filter((s: Json) => s.kind === "ServiceAccount")).toEqual([]);
    expect(Object.keys(resourcesOf(stack, "kubernetes_cluster_role_binding_v1"))).toEqual([]);
  });

  test("one ClusterRole per duty, no wildcard anywhere, bound to the mapped groups in each Maestro namespace only", () => {
    const roles = Object.values(resourcesOf(stack, "kubernetes_cluster_role_v1")) as Json[];
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(["maestro-admin", "maestro-auditor", "maestro-operator", "maestro-viewer"]);
    for (const role of roles)
      for (const rule of role.rule) for (const field of ["api_groups", "resources", "verbs"]) expect(rule[field]).not.toContain("*");
    const secretsReaders = roles.filter((r) => r.rule.some((rule: Json) => rule.resources.includes("secrets"))).map((r) => r.metadata.name);
    expect(secretsReaders).toEqual(["maestro-admin"]);
    const bindings = Object.values(resourcesOf(stack, "kubernetes_role_binding_v1")) as Json[];
    const auditors = bindings.filter((b) => b.role_ref.name === "maestro-auditor");
    expect(auditors.map((b) => b.metadata.namespace).sort()).toEqual(
      [config.namespaces.app, config.namespaces.data, config.namespaces.gateway].sort(),
    );
    for (const b of auditors) expect(b.subject).toEqual([{ kind: "Group", name: "auditors", api_group: "rbac.authorization.k8s.io" }]);
  });

  test("the service's identity env matches the gateway and passes the service's own settings check", () => {
    const { env, secretEnv } = serviceIdentityEnv(config);
    const asEnv = Object.fromEntries(env.map((e) => [e.name, e.value]));
    const identity = readIdentitySettings({ ...asEnv, SCIM_SYNC_TOKEN: "x".repeat(32) }, "production");
    expect(identity).toMatchObject({
      issuer: config.gateway.oidc.issuer,
      audiences: config.gateway.oidc.audiences,
      groupRoles: config.gateway.groupRoles,
    });
    expect(secretEnv).toEqual([{ name: "SCIM_SYNC_TOKEN", secretName: config.gateway.scim.secretName, secretKey: "sync-token" }]);
  });
});

describe("constructs refuse weak props, naming the prop", () => {
  const scope = () => {
    const stack = new TerraformStack(Testing.app(), "t");
    return { stack, helm: new HelmProvider(stack, "helm", {}), k8s: new KubernetesProvider(stack, "k8s", {}) };
  };
  const gatewayProps = {
    namespace: "gw",
    chart: { repository: "https://oauth2-proxy.github.io/manifests", version: "7.12.18" },
    image: { repository: "quay.io/oauth2-proxy/oauth2-proxy", tag: "v7.12.0" },
    issuer: "https://sso.example",
    clientId: "c",
    audiences: ["c"],
    secretName: "oidc",
    serviceAccountName: "oauth2-proxy",
    upstream: "http://compliance.maestro.svc:8080",
    allowedGroups: ["auditors"],
  };

  test.each([
    ["an http issuer", { issuer: "http://sso.example" }, /issuer must be an https:\/\/ URL/],
    ["an unpinned chart", { chart: { repository: "https://x.example", version: "^7.0.0" } }, /chart\.version must be a pinned x\.y\.z/],
    ["no audiences", { audiences: [] }, /audiences must pin at least one/],
    ["no allowed groups", { allowedGroups: [] }, /allowedGroups must name at least one group/],
  ])("OidcGateway: %s", (_what, override, message) => {
    const { stack, helm } = scope();
    expect(() => new OidcGateway(stack, "g", { ...gatewayProps, ...override, helm })).toThrow(message);
  });

  test.each([0, 5, 2.5])("ScimSync: intervalMinutes %p is refused (must be 1-4)", (n) => {
    expect(() => scimSchedule(n)).toThrow(/intervalMinutes must be an integer 1-4/);
  });

  test("ScimSync: an http SCIM endpoint is refused", () => {
    const { stack, k8s } = scope();
    expect(
      () =>
        new ScimSync(stack, "s", {
          kubernetes: k8s,
          namespace: "gw",
          serviceAccountName: "scim-sync",
          image: "img:1",
          scimEndpoint: "http://idp.example/scim/v2",
          intervalMinutes: 2,
          secretName: "scim",
          pushUrl: "http://compliance.maestro.svc:8080/api/scim/sync",
          groupRoles: { auditors: "auditor" },
        }),
    ).toThrow(/scimEndpoint must be an https:\/\/ URL/);
  });
});
