import { TerraformStack, Testing } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { loadEnvironment, validateEnvironment } from "../../config/load";
import type { EnvironmentConfig, MeshService } from "../../config/schema";
import { loadManifestSchemas, ManifestValidationError } from "../../constructs/k8s/schemas";
import { MeshMtls, MeshPropsError } from "../../constructs/mesh/mesh-mtls";
import { meshNamespaces } from "../../constructs/mesh/identity";
import { istiodMeshConfig } from "../../constructs/mesh/mesh-config";
import { manifestsOf, resourcesOf, synthAll } from "../../harness/synth";

beforeAll(() => loadManifestSchemas());

const labels = { "app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/component": "zero-trust-mesh" };
const meta = (name: string, namespace: string) => ({ name, namespace, labels });
const denyByDefault = (namespace: string) => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: meta("deny-by-default", namespace),
  spec: {},
});
const allow = (name: string, namespace: string, app: string, principal: string, operation: Record<string, string[]>) => ({
  apiVersion: "security.istio.io/v1",
  kind: "AuthorizationPolicy",
  metadata: meta(name, namespace),
  spec: {
    selector: { matchLabels: { "app.kubernetes.io/name": app } },
    action: "ALLOW",
    rules: [{ from: [{ source: { principals: [principal] } }], to: [{ operation }] }],
  },
});

/** The mesh objects both environments must synthesize, exactly. */
const expectedMeshObjects = [
  {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: meta("default", "istio-system"),
    spec: { mtls: { mode: "STRICT" } },
  },
  {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: meta("default", "istio-system"),
    spec: { host: "*.local", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
  },
  denyByDefault("maestro"),
  denyByDefault("maestro-data"),
  denyByDefault("maestro-gateway"),
  denyByDefault("monitoring"),
  allow("allow-gateway-to-compliance", "maestro", "compliance", "cluster.local/ns/maestro-gateway/sa/oauth2-proxy", {
    ports: ["8080"],
    methods: ["GET", "HEAD", "POST"],
  }),
  allow("allow-prometheus-to-compliance", "maestro", "compliance", "cluster.local/ns/monitoring/sa/prometheus-server", {
    ports: ["8080"],
    methods: ["GET"],
    paths: ["/metrics"],
  }),
  allow("allow-compliance-to-postgres", "maestro-data", "postgres", "cluster.local/ns/maestro/sa/compliance-service", {
    ports: ["5432"],
  }),
  allow("allow-scim-sync-to-compliance", "maestro", "compliance", "cluster.local/ns/maestro-gateway/sa/scim-sync", {
    ports: ["8080"],
    methods: ["POST"],
    paths: ["/api/scim/sync"],
  }),
  allow("allow-grafana-to-prometheus", "monitoring", "prometheus", "cluster.local/ns/monitoring/sa/grafana", {
    ports: ["9090"],
    methods: ["GET", "POST"],
    paths: ["/api/v1/*"],
  }),
  allow("allow-slo-gate-to-prometheus", "monitoring", "prometheus", "cluster.local/ns/maestro/sa/slo-gate", {
    ports: ["9090"],
    methods: ["GET"],
    paths: ["/api/v1/query"],
  }),
  allow("allow-postgres-backup-to-postgres", "maestro-data", "postgres", "cluster.local/ns/maestro-data/sa/postgres-backup", {
    ports: ["5432"],
  }),
];

/** The external hosts REGISTRY_ONLY egress lets through, per environment. */
const egressEntries = (config: EnvironmentConfig) => {
  const entry = (name: string, hosts: string[], resolution: "DNS" | "NONE") => ({
    apiVersion: "networking.istio.io/v1",
    kind: "ServiceEntry",
    metadata: meta(`egress-${name}`, "istio-system"),
    spec: { hosts, exportTo: ["*"], location: "MESH_EXTERNAL", resolution, ports: [{ number: 443, name: "tls", protocol: "TLS" }] },
  });
  const idp = new URL(config.gateway.oidc.issuer).hostname;
  return [
    entry("aws-s3", [`s3.${config.region}.amazonaws.com`, `*.s3.${config.region}.amazonaws.com`], "NONE"),
    entry("aws-sts", [`sts.${config.region}.amazonaws.com`], "DNS"),
    entry("identity-provider", [idp], "DNS"),
  ];
};

const byKey = (m: { kind: string; metadata: { namespace?: string; name: string } }) =>
  `${m.kind} ${m.metadata.namespace}/${m.metadata.name}`;

describe.each(["staging", "production"])("mesh stack (%s)", (env) => {
  test("synthesizes exactly STRICT, ISTIO_MUTUAL, deny-by-default per namespace and the SPIFFE allow-list", async () => {
    const { mesh } = await synthAll(env);
    const actual = manifestsOf(mesh)
      .map((m) => m.manifest)
      .sort((a, b) => byKey(a).localeCompare(byKey(b)));
    const expected = [...expectedMeshObjects, ...egressEntries(loadEnvironment(env))].sort((a, b) => byKey(a).localeCompare(byKey(b)));
    expect(actual).toEqual(expected);
  });

  test("every ALLOW rule names a SPIFFE principal of the configured trust domain, never any source", async () => {
    const { mesh } = await synthAll(env);
    const policies = manifestsOf(mesh).filter(
      (m) => m.manifest.kind === "AuthorizationPolicy" && m.manifest.metadata.name !== "deny-by-default",
    );
    expect(policies).toHaveLength(loadEnvironment(env).mesh.allow.length);
    for (const { manifest } of policies) {
      const rules = (manifest.spec as { rules: Array<{ from: Array<{ source: { principals: string[] } }> }> }).rules;
      for (const rule of rules)
        for (const from of rule.from)
          for (const p of from.source.principals) expect(p).toMatch(/^cluster\.local\/ns\/[a-z0-9-]+\/sa\/[a-z0-9-]+$/);
    }
  });

  test("the dashboard ConfigMap is labelled for Grafana's sidecar in the monitoring namespace", async () => {
    const { mesh } = await synthAll(env);
    const maps = Object.values(resourcesOf(mesh, "kubernetes_config_map_v1"));
    expect(maps).toHaveLength(1);
    const { metadata, data } = maps[0] as { metadata: Record<string, unknown>; data: Record<string, string> };
    expect(metadata).toEqual({
      name: "mtls-overview-dashboard",
      namespace: "monitoring",
      labels: { grafana_dashboard: "1", ...labels },
    });
    expect(Object.keys(data)).toEqual(["mtls-overview.json"]);
    expect(JSON.parse(data["mtls-overview.json"]).uid).toBe("mtls-overview");
    // Terraform would evaluate `${...}` / `%{...}` inside the ConfigMap data.
    expect(data["mtls-overview.json"]).not.toMatch(/[$%]\{/);
  });

  test("outputs name the dashboard, the threshold and the protected namespaces", async () => {
    const { mesh } = await synthAll(env);
    const cfg = loadEnvironment(env);
    expect(mesh.output?.mtls_dashboard_uid.value).toBe("mtls-overview");
    expect(mesh.output?.mtls_threshold_percent.value).toBe(cfg.mesh.mtlsThresholdPercent);
    expect(mesh.output?.protected_namespaces.value).toEqual(["maestro", "maestro-data", "maestro-gateway", "monitoring"]);
  });

  test("platform labels exactly the protected namespaces for sidecar injection and pins istiod with typed meshConfig", async () => {
    const { platform } = await synthAll(env);
    const cfg = loadEnvironment(env);
    const injected = Object.values(resourcesOf(platform, "kubernetes_namespace_v1"))
      .map((ns) => (ns as { metadata: { name: string; labels: Record<string, string> } }).metadata)
      .filter((m) => m.labels["istio-injection"] === "enabled")
      .map((m) => m.name)
      .sort();
    expect(injected).toEqual(meshNamespaces(cfg));
    const istiod = resourcesOf(platform, "helm_release").istiod as { version: string; values: string[] };
    expect(istiod.version).toBe(cfg.charts.istio.version);
    expect(JSON.parse(istiod.values[0]).meshConfig).toEqual({
      enableAutoMtls: true,
      trustDomain: "cluster.local",
      rootNamespace: "istio-system",
      accessLogFile: "/dev/stdout",
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
      meshMTLS: { minProtocolVersion: "TLSV1_3" },
      defaultConfig: { holdApplicationUntilProxyStarts: true },
    });
    expect(istiodMeshConfig(cfg).trustDomain).toBe(cfg.mesh.trustDomain);
  });
});

function staging(change: (cfg: EnvironmentConfig) => void): EnvironmentConfig {
  const cfg = structuredClone(loadEnvironment("staging"));
  change(cfg);
  return cfg;
}

describe("bad input is refused at synth, naming what is wrong", () => {
  test("an invalid field fails synth with the object and the field named (schema gate)", async () => {
    // Bypasses config validation on purpose: the Istio schema is the last gate before Terraform.
    const cfg = staging((c) => (c.mesh.services.find((s) => s.name === "compliance")!.workloadLabels = { app: "x".repeat(64) }));
    let error: unknown;
    try {
      await synthAll(cfg);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestValidationError);
    expect((error as ManifestValidationError).object).toBe("security.istio.io/v1 AuthorizationPolicy maestro/allow-gateway-to-compliance");
    expect((error as ManifestValidationError).fields).toEqual(["spec.selector.matchLabels.app: must NOT be longer than 63 characters"]);
  });

  const services: MeshService[] = [
    { name: "web", namespace: "shop", serviceAccount: "web", ports: [8080] },
    { name: "db", namespace: "shop-data", serviceAccount: "db", ports: [5432] },
  ];
  const buildMesh = (props: Partial<ConstructorParameters<typeof MeshMtls>[2]> = {}) => {
    const stack = new TerraformStack(Testing.app(), "test");
    const kubernetes = new KubernetesProvider(stack, "kubernetes", {});
    return new MeshMtls(stack, "mesh", { kubernetes, rootNamespace: "istio-system", services, ...props });
  };

  test.each<[string, (m: MeshMtls) => unknown, RegExp]>([
    ["an unknown service", (m) => m.service("ghost"), /^unknown service 'ghost' \(known: web, db\)$/],
    [
      "an allow rule with no source",
      (m) => m.allow(undefined as never, m.service("db")),
      /allow\(\? → db\): from: a source service is required/,
    ],
    [
      "a port the target does not serve",
      (m) => m.allow(m.service("web"), m.service("db"), { ports: [8080] }),
      /allow\(web → db\): ports: 8080 is not a port of 'db' \(5432\)/,
    ],
    [
      "a service that is not part of the mesh",
      (m) => m.allow({ ...services[0] }, m.service("db")),
      /allow\(web → db\): from: not a service of this mesh/,
    ],
    [
      "a path without a leading slash",
      (m) => m.allow(m.service("web"), m.service("db"), { paths: ["api"] }),
      /paths: 'api' must start with '\/'/,
    ],
    ["an empty method list", (m) => m.allow(m.service("web"), m.service("db"), { methods: [] }), /an empty list allows nothing/],
    [
      "the same pair allowed twice",
      (m) => (m.allow(m.service("web"), m.service("db")), m.allow(m.service("web"), m.service("db"))),
      /allow\(web → db\): already allowed/,
    ],
  ])("%s", (_label, act, expected) => {
    const mesh = buildMesh();
    let error: unknown;
    try {
      act(mesh);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshPropsError);
    expect((error as Error).message).toMatch(expected);
  });

  test("a service outside the protected namespaces is refused", () =>
    expect(() => buildMesh({ protectedNamespaces: ["shop"] })).toThrow(
      /services: 'db' is in namespace 'shop-data', which is not protected/,
    ));

  test("the root namespace cannot be a protected (deny-by-default) namespace", () =>
    expect(() => buildMesh({ protectedNamespaces: ["shop", "shop-data", "istio-system"] })).toThrow(
      /protectedNamespaces: must not contain the root namespace 'istio-system'/,
    ));

  test("a permissive namespace must be a protected one", () =>
    expect(() => buildMesh({ permissiveNamespaces: ["elsewhere"] })).toThrow(/permissiveNamespaces\[0\]: 'elsewhere' is not a protected/));
});

describe("weakening is explicit and named", () => {
  test("mesh.permissiveNamespaces adds a PERMISSIVE PeerAuthentication annotated with the option, STRICT stays mesh-wide", async () => {
    const cfg = staging((c) => (c.mesh.permissiveNamespaces = ["maestro-data"]));
    const { mesh } = await synthAll(cfg);
    const peer = manifestsOf(mesh)
      .map((m) => m.manifest)
      .filter((m) => m.kind === "PeerAuthentication");
    expect(peer).toEqual(
      expect.arrayContaining([
        {
          apiVersion: "security.istio.io/v1",
          kind: "PeerAuthentication",
          metadata: { ...meta("default", "maestro-data"), annotations: { "maestro.io/weakened-by": "mesh.permissiveNamespaces" } },
          spec: { mtls: { mode: "PERMISSIVE" } },
        },
        expect.objectContaining({ metadata: meta("default", "istio-system"), spec: { mtls: { mode: "STRICT" } } }),
      ]),
    );
    expect(peer).toHaveLength(2);
  });

  test("without the option no PERMISSIVE object exists", async () => {
    const { mesh } = await synthAll("production");
    expect(JSON.stringify(mesh)).not.toContain("PERMISSIVE");
  });
});

describe("allowEgress", () => {
  const build = () => {
    const config = loadEnvironment("staging");
    const stack = new TerraformStack(Testing.app(), "egress");
    return new MeshMtls(stack, "mesh", {
      kubernetes: new KubernetesProvider(stack, "kubernetes", {}),
      rootNamespace: "istio-system",
      services: config.mesh.services,
      protectedNamespaces: meshNamespaces(config),
    });
  };

  test.each<[string, string[], RegExp]>([
    ["no hosts", [], /allowEgress\(x\): hosts: name at least one host/],
    [
      "a mesh host",
      ["compliance.maestro.svc.cluster.local"],
      /hosts: 'compliance\.maestro\.svc\.cluster\.local' must be an external DNS name/,
    ],
    ["a URL instead of a host", ["https://sso.example"], /hosts: 'https:\/\/sso\.example' must be an external DNS name/],
  ])("refuses %s", (_label, hosts, expected) => {
    expect(() => build().allowEgress("x", hosts)).toThrow(expected);
  });
});

test("a client-only service cannot be the target of an allow rule", () => {
  const staging = structuredClone(loadEnvironment("staging"));
  staging.mesh.allow.push({ from: "compliance", to: "slo-gate" });
  expect(() => validateEnvironment("staging", staging)).toThrow(
    /mesh\.allow\[\d+\]\.to: service 'slo-gate' serves no ports \(it is client-only\)/,
  );
});
