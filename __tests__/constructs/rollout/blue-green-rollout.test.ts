// BlueGreenRollout on its own: secure defaults when ungated, what the sloGate prop changes, and props
// refused at construction with the prop and the allowed values named.
import { Testing, TerraformStack } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { loadManifestSchemas, ManifestValidationError } from "../../../constructs/k8s/schemas";
import { BlueGreenRollout, type BlueGreenRolloutProps, type ServiceLevelObjective } from "../../../constructs/rollout";
import { manifestsOf, type StackJson } from "../../../harness/synth";

beforeAll(() => loadManifestSchemas());

const base: Omit<BlueGreenRolloutProps, "kubernetes"> = {
  name: "orders",
  namespace: "shop",
  image: "registry.example/orders:2.1.0",
  replicas: 2,
  serviceAccountName: "orders",
};
const slo: ServiceLevelObjective = { window: "2m", maxErrorRatio: 0.02, maxP99Ms: 500, minRequests: 30 };

function build(props: Partial<BlueGreenRolloutProps> = {}): { rollout: BlueGreenRollout; json: StackJson } {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  const kubernetes = new KubernetesProvider(stack, "kubernetes", {});
  const rollout = new BlueGreenRollout(stack, "orders", { kubernetes, ...base, ...props });
  return { rollout, json: JSON.parse(Testing.synth(stack)) as StackJson };
}

const blueGreenOf = (json: StackJson) =>
  (
    manifestsOf(json).find((m) => m.manifest.kind === "Rollout")!.manifest as unknown as {
      spec: { strategy: { blueGreen: Record<string, unknown> } };
    }
  ).spec.strategy.blueGreen;

test("ungated, a person promotes: autoPromotionEnabled false, no analysis, no AnalysisTemplate", () => {
  const { json, rollout } = build();
  expect(blueGreenOf(json)).toEqual({
    activeService: "orders",
    previewService: "orders-preview",
    autoPromotionEnabled: false,
    scaleDownDelaySeconds: 30,
    abortScaleDownDelaySeconds: 30,
  });
  expect(manifestsOf(json).map((m) => m.manifest.kind)).toEqual(["Rollout"]);
  expect(rollout.sloGate).toBeUndefined();
});

test("sloGate: the analysis gates promotion, before (preview) and after (active) the switch", () => {
  const { json, rollout } = build({ sloGate: { slo, prometheusUrl: "http://prom.monitoring:9090", initialDelay: "1m" } });
  const blueGreen = blueGreenOf(json);
  expect(blueGreen.autoPromotionEnabled).toBe(true);
  expect(blueGreen.prePromotionAnalysis).toEqual({
    templates: [{ templateName: "orders-slo-gate" }],
    args: [{ name: "service-name", value: "orders-preview" }],
  });
  expect(blueGreen.postPromotionAnalysis).toEqual({
    templates: [{ templateName: "orders-slo-gate" }],
    args: [{ name: "service-name", value: "orders" }],
  });
  expect(rollout.rolloutObject.spec).toEqual(
    (manifestsOf(json).find((m) => m.manifest.kind === "Rollout")!.manifest as unknown as { spec: unknown }).spec,
  );
  const template = manifestsOf(json).find((m) => m.manifest.kind === "AnalysisTemplate")!.manifest as unknown as {
    spec: {
      metrics: Array<{
        initialDelay: string;
        provider: { job: { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } } };
      }>;
    };
  };
  expect(template.spec.metrics[0].initialDelay).toBe("1m");
  const args = template.spec.metrics[0].provider.job.spec.template.spec.containers[0].args;
  expect(args).toEqual(
    expect.arrayContaining(["--window", "2m", "--max-error-ratio", "0.02", "--max-p99-ms", "500", "--min-requests", "30"]),
  );
});

test("the gated Rollout is written once and depends on its AnalysisTemplate by reference", () => {
  const { json, rollout } = build({ sloGate: { slo, prometheusUrl: "http://prom:9090" } });
  const manifests = Object.entries(json.resource?.kubernetes_manifest ?? {}) as Array<
    [string, { manifest: { kind: string }; depends_on?: string[] }]
  >;
  const [templateName] = manifests.find(([, r]) => r.manifest.kind === "AnalysisTemplate")!;
  const [, rolloutResource] = manifests.find(([, r]) => r.manifest.kind === "Rollout")!;
  expect(rolloutResource.depends_on).toContain(`kubernetes_manifest.${templateName}`);
  expect(rollout.rollout.object).toBe(rollout.rolloutObject);
  expect(rollout.sloGate?.analysisTemplate.object.metadata.name).toBe("orders-slo-gate");
});

test.each([
  [{ replicas: 0 }, "BlueGreenRollout: replicas must be an integer >= 1 (got 0)"],
  [{ image: "registry.example/orders:latest" }, "BlueGreenRollout: image must be repository:tag with a pinned tag (not latest)"],
  [{ image: "registry.example/orders" }, "BlueGreenRollout: image must be repository:tag"],
  [{ name: "Orders" }, 'BlueGreenRollout: name must be a DNS-1123 label (got "Orders")'],
  [{ scaleDownDelaySeconds: 5 }, "BlueGreenRollout: scaleDownDelaySeconds must be an integer >= 30"],
  [
    { abortScaleDownDelaySeconds: 0 },
    "BlueGreenRollout: abortScaleDownDelaySeconds must be an integer >= 1 (0 would never scale the aborted revision down)",
  ],
  [{ preStopSleepSeconds: 0 }, "BlueGreenRollout: preStopSleepSeconds must be an integer 1-120"],
  [{ minAvailable: 3 }, "BlueGreenRollout: minAvailable must be an integer 1-2 (replicas) (got 3)"],
  [
    { limits: { cpu: "lots", memory: "1Gi" } },
    'BlueGreenRollout: limits.cpu must be a Kubernetes CPU quantity such as 100m or 1 (got "lots")',
  ],
])("props %j are refused, naming the prop", (props, message) => {
  expect(() => build(props as Partial<BlueGreenRolloutProps>)).toThrow(message);
});

test.each([
  [{ ...slo, window: "five minutes" }, {}, 'slo.window must be a Prometheus duration such as 5m (got "five minutes")'],
  [{ ...slo, maxErrorRatio: 1.5 }, {}, "slo.maxErrorRatio must be 0-1 (got 1.5)"],
  [{ ...slo, maxP99Ms: 0 }, {}, "slo.maxP99Ms must be a positive number of milliseconds (got 0)"],
  [{ ...slo, minRequests: 0 }, {}, "slo.minRequests must be an integer >= 1 (got 0)"],
  [slo, { prometheusUrl: "prom:9090" }, 'prometheusUrl must be an http(s) URL (got "prom:9090")'],
  [slo, { initialDelay: "soon" }, 'initialDelay must be a duration such as 5m (got "soon")'],
])("sloGate %j, %j is refused, naming the field", (badSlo, options, message) => {
  expect(() => build({ sloGate: { slo: badSlo, prometheusUrl: "http://prom:9090", ...options } })).toThrow(
    `BlueGreenRollout: sloGate: ${message}`,
  );
});

test("an object the Argo Rollouts schema refuses never reaches synth", () => {
  // An env value must be a string in the pod template schema; a number slips past TypeScript only by a cast.
  expect(() => build({ env: [{ name: "A", value: 1 as unknown as string }] })).toThrow(ManifestValidationError);
  expect(() => build({ env: [{ name: "A", value: 1 as unknown as string }] })).toThrow(
    /argoproj.io\/v1alpha1 Rollout shop\/orders does not match its API schema/,
  );
});
