import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { loadEnvironment } from "../../config/load";
import { loadManifestSchemas } from "../../constructs/k8s/schemas";
import { buildStacks, stackIds } from "../../stacks";
import { synthAll, resourcesOf } from "../../harness/synth";

const root = join(__dirname, "..", "..");

describe.each(["staging", "production"])("%s: the six stacks", (env) => {
  test("synthesize, each with its providers pinned to the environment", async () => {
    const stacks = await synthAll(env);
    expect(Object.keys(stacks)).toEqual([...stackIds]);
    const config = loadEnvironment(env);
    for (const id of stackIds) {
      const providers = stacks[id].provider as Record<string, Array<Record<string, unknown>>> | undefined;
      for (const p of providers?.kubernetes ?? []) expect(p.config_context).toBe(config.cluster.context);
      // The default provider is the environment's region; an aliased one is a DR replica's region.
      const replicaRegions = [config.audit.replica.region, config.backup.replica.region];
      for (const p of providers?.aws ?? []) {
        if (p.alias) {
          expect(replicaRegions).toContain(p.region);
          expect(p.alias).toBe(String(p.region).replace(/-/g, "_"));
        } else expect(p.region).toBe(config.region);
        expect(p.allowed_account_ids).toEqual([config.accountId]);
      }
    }
  });

  test("every resource names its provider: constructs take the stack's providers as props (aws, kubernetes, helm)", async () => {
    const stacks = await synthAll(env);
    const unnamed = stackIds.flatMap((id) =>
      Object.entries(stacks[id].resource ?? {}).flatMap(([type, byName]) =>
        Object.entries(byName)
          .filter(([, resource]) => typeof resource.provider !== "string")
          .map(([name]) => `${id}: ${type}.${name}`),
      ),
    );
    expect(unnamed).toEqual([]);
  });

  test("platform pins the operator charts and labels workload namespaces for injection", async () => {
    const { platform } = await synthAll(env);
    const config = loadEnvironment(env);
    const releases = resourcesOf(platform, "helm_release");
    expect(Object.fromEntries(Object.entries(releases).map(([k, r]) => [k, [r.chart, r.version]]))).toEqual({
      "istio-base": ["base", config.charts.istio.version],
      istiod: ["istiod", config.charts.istio.version],
      "argo-rollouts": ["argo-rollouts", config.charts.argoRollouts.version],
    });
    // Replica counts are config values (config.platform), not environment-name branches in the stack.
    const values = (id: string) => JSON.parse((releases[id].values as string[])[0]);
    expect(values("istiod").pilot.autoscaleMin).toBe(config.platform.istiodMinReplicas);
    expect(values("argo-rollouts").controller.replicas).toBe(config.platform.rolloutsControllerReplicas);
    const namespaces = Object.values(resourcesOf(platform, "kubernetes_namespace_v1")).map(
      (n) => (n.metadata as Array<{ name: string; labels: Record<string, string> }>)[0] ?? n.metadata,
    );
    const labelOf = (name: string) =>
      (namespaces.find((n) => (n as { name: string }).name === name) as { labels: Record<string, string> }).labels;
    expect(labelOf(config.namespaces.app)["istio-injection"]).toBe("enabled");
    expect(labelOf(config.namespaces.istio)["istio-injection"]).toBeUndefined();
  });
});

test("stacks depend on each other in deploy order", async () => {
  await loadManifestSchemas();
  const stacks = buildStacks(Testing.app(), loadEnvironment("staging"));
  const deps = Object.fromEntries(stackIds.map((id) => [id, stacks[id].dependencies.map((d) => d.node.id)]));
  expect(deps).toEqual({
    platform: [],
    mesh: ["platform"],
    audit: [],
    backup: ["platform", "mesh", "audit"],
    gateway: ["platform", "mesh"],
    app: ["platform", "mesh", "audit", "backup", "gateway"],
  });
  // Every dependency comes earlier in the deploy order.
  for (const id of stackIds) for (const dep of deps[id]) expect(stackIds.indexOf(dep as never)).toBeLessThan(stackIds.indexOf(id));
});

test("staging keeps state locally; production in S3 with native locking", async () => {
  const staging = await synthAll("staging");
  const production = await synthAll("production");
  expect((staging.mesh.terraform as { backend: unknown }).backend).toEqual({ local: { path: "../../../terraform-state/mesh.tfstate" } });
  expect((production.mesh.terraform as { backend: unknown }).backend).toEqual({
    s3: { bucket: "maestro-production-tfstate", key: "maestro/mesh.tfstate", region: "eu-central-1", encrypt: true, use_lockfile: true },
  });
});

describe("npm run synth", () => {
  let out: string;
  beforeAll(() => (out = mkdtempSync(join(tmpdir(), "maestro-synth-"))));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("writes cdk.tf.json for all six stacks of the chosen environment", () => {
    const result = spawnSync("npm", ["run", "-s", "synth", "--", "--env", "production"], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: out },
      encoding: "utf8",
    });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    expect(readdirSync(join(out, "stacks")).sort()).toEqual([...stackIds].sort());
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { stacks: Record<string, unknown> };
    expect(Object.keys(manifest.stacks).sort()).toEqual([...stackIds].sort());
  });

  test("refuses an unknown environment with a precise message and exit 1", () => {
    const result = spawnSync("npm", ["run", "-s", "synth", "--", "--env", "qa"], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: out },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("unknown environment 'qa': use one of staging, production");
  });
});
