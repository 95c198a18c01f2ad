// Issue 15's four scenarios against the REAL Argo Rollouts controller on the local control plane:
// the app stack's Rollout, Services, PDB and AnalysisTemplate exactly as synthesized for the
// `local` environment (only prometheusUrl set to the Prometheus started here), a real Prometheus
// scraping series in the shape the service's /metrics exports, and the analysis Job's pod run on
// the host by the host-process kubelet (node slo_gate.js with the synthesized args). Everything
// else — ReplicaSets, Service selectors, AnalysisRuns, promotion, abort, scale-down — is the
// controller's. Asserted on the Rollout's status and the active Service's selector; the active
// Service's EndpointSlices are sampled every 100 ms. docs/rollouts.md shows a run's sequences.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { environments, validateEnvironment } from "../../../config/load";
import type { EnvironmentInput } from "../../../config/schema";
import type { TerraformJson } from "../../../policy-engine/input";
import { missingBinary, startControlPlane, type ControlPlane } from "../../../tools/cluster/control-plane";
import { applyCrds, crdDir, sendObjects } from "../../../tools/cluster/apply";
import { stackObjects } from "../../../tools/cluster/stack-objects";
import { HostKubelet } from "../../../tools/cluster/host-kubelet";
import { KubeApi } from "../../../tools/cluster/kube-api";
import { missingRolloutsController, startRolloutsController, type RolloutsController } from "../../../tools/cluster/rollouts-controller";
import { waitFor } from "../../../lib/net";
import { describeWithService } from "../../support/services";
import {
  prometheusBinary,
  startMetricsTarget,
  startPrometheus,
  type MetricsTarget,
  type RunningPrometheus,
} from "../../../harness/prometheus";
import { synthAll } from "../../../harness/synth";
import { loadShippedBundle } from "../../../policy-engine/bundle";
import { runGate } from "../../../policy-engine/gate";
import { policyParameters } from "../../../policy-engine/input";
import { mutations } from "../../policies/mutations";
import { healthy, erroring, idle, slow, TrafficSimulator, type TrafficProfile } from "../../../harness/traffic";

const namespace = "maestro";
const rolloutName = "compliance";
const activeService = "compliance";
const previewService = "compliance-preview";
// The SLO gate Job's pods (the construct's label): kwok skips them, the host kubelet runs them.
const gateLabel = { name: "app.kubernetes.io/name", values: ["slo-gate"] };

const missing =
  missingBinary() ??
  missingRolloutsController() ??
  (existsSync(join(crdDir, ".version")) ? undefined : "the CRDs in .tools/share/crds (tools/install/tools.sh cluster)") ??
  (prometheusBinary ? undefined : "prometheus (apt-get install prometheus)");

interface Rollout {
  spec: { template: { spec: { containers: Array<{ image: string }> } } };
  status?: {
    phase?: string;
    message?: string;
    abort?: boolean;
    stableRS?: string;
    currentPodHash?: string;
    blueGreen?: {
      activeSelector?: string;
      previewSelector?: string;
      prePromotionAnalysisRunStatus?: { name: string; status: string };
      postPromotionAnalysisRunStatus?: { name: string; status: string };
    };
  };
}
interface Service {
  spec: { selector: Record<string, string> };
}
interface ReplicaSet {
  metadata: { name: string; labels: Record<string, string> };
  spec: { replicas?: number };
  status: { readyReplicas?: number };
}
interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  status: { conditions?: Array<{ type: string; status: string }> };
}
interface EndpointSlice {
  endpoints?: Array<{ conditions?: { ready?: boolean }; targetRef?: { name: string } }>;
}
interface AnalysisRun {
  metadata: { name: string; creationTimestamp: string };
  status?: { phase?: string; metricResults?: Array<{ measurements?: Array<{ phase: string; message?: string }> }> };
}

/** One 100 ms look at what the controller has done. */
interface Sample {
  at: number;
  rollout: Rollout;
  activeHash?: string;
  previewHash?: string;
  replicaSets: ReplicaSet[];
  endpoints: Array<{ pod?: string; ready: boolean; podReady: boolean; why?: string }>;
  runs: AnalysisRun[];
}

const hashOf = (s: Service | undefined) => s?.spec.selector["rollouts-pod-template-hash"];

describeWithService("blue/green under the real Argo Rollouts controller (local control plane)", missing, () => {
  const work = mkdtempSync(join(tmpdir(), "maestro-rollouts-"));
  let cluster: ControlPlane;
  let controller: RolloutsController;
  let kubelet: HostKubelet;
  let api: KubeApi;
  let target: MetricsTarget;
  let traffic: TrafficSimulator;
  let prometheus: RunningPrometheus;
  let localInput: EnvironmentInput;
  const sequences: string[] = [];

  /** The app stack of the `local` environment with one image tag: a revision, as CD would synth it. */
  const appStack = async (tag: string) => {
    const config = validateEnvironment("local", {
      ...localInput,
      images: { ...localInput.images, complianceService: { ...localInput.images.complianceService, tag } },
    });
    return (await synthAll(config)).app as TerraformJson;
  };

  beforeAll(async () => {
    target = await startMetricsTarget();
    traffic = new TrafficSimulator(target);
    traffic.start(100);
    prometheus = await startPrometheus({ targets: [target.address], scrapeInterval: "1s" });
    localInput = { ...environments.local, prometheusUrl: prometheus.url };
    cluster = await startControlPlane({ dir: join(work, "cluster"), timeoutMs: 120_000, hostProcessLabel: gateLabel });
    api = new KubeApi(cluster);
    await applyCrds(cluster);
    controller = await startRolloutsController(cluster);
    kubelet = HostKubelet.start(cluster, { label: gateLabel, workDir: join(work, "pods") });
    await cluster.kubectl(["create", "namespace", namespace]);
    // The first revision: every object of the app stack, as Terraform's first apply sends them.
    const { objects, templateErrors } = stackObjects(await appStack("1.0.0"));
    expect(templateErrors).toEqual([]);
    await sendObjects(cluster, objects);
    await waitFor("first revision Healthy", async () => (await rollout()).status?.phase === "Healthy", 60_000, 200);
  }, 240_000);

  afterAll(async () => {
    traffic?.stop();
    await kubelet?.stop();
    await controller?.stop();
    await cluster?.stop(true);
    await prometheus?.stop();
    await target?.close();
    if (process.env.ROLLOUT_SEQUENCES_OUT) writeFileSync(process.env.ROLLOUT_SEQUENCES_OUT, sequences.join("\n"));
  });

  const rollout = () => api.get<Rollout>(`/apis/argoproj.io/v1alpha1/namespaces/${namespace}/rollouts/${rolloutName}`);

  const sample = async (started: number): Promise<Sample> => {
    const [r, active, preview, rs, pods, slices, runs] = await Promise.all([
      rollout(),
      api.get<Service>(`/api/v1/namespaces/${namespace}/services/${activeService}`),
      api.get<Service>(`/api/v1/namespaces/${namespace}/services/${previewService}`),
      api.get<{ items: ReplicaSet[] }>(
        `/apis/apps/v1/namespaces/${namespace}/replicasets?labelSelector=app.kubernetes.io%2Fname%3D${rolloutName}`,
      ),
      api.get<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods?labelSelector=app.kubernetes.io%2Fname%3D${rolloutName}`),
      api.get<{ items: EndpointSlice[] }>(
        `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${activeService}`,
      ),
      api.get<{ items: AnalysisRun[] }>(`/apis/argoproj.io/v1alpha1/namespaces/${namespace}/analysisruns`),
    ]);
    const why = new Map(
      pods.items.map((p) => [p.metadata.name, JSON.stringify({ deleting: p.metadata.deletionTimestamp, conditions: p.status.conditions })]),
    );
    const ready = new Map(
      pods.items.map((p) => [p.metadata.name, p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false]),
    );
    return {
      at: Date.now() - started,
      rollout: r,
      activeHash: hashOf(active),
      previewHash: hashOf(preview),
      replicaSets: rs.items,
      endpoints: slices.items.flatMap((s) =>
        (s.endpoints ?? []).map((e) => ({
          pod: e.targetRef?.name,
          ready: e.conditions?.ready === true,
          podReady: e.targetRef ? (ready.get(e.targetRef.name) ?? false) : false,
          why: e.targetRef ? why.get(e.targetRef.name) : undefined,
        })),
      ),
      runs: runs.items,
    };
  };

  /**
   * Applies a new revision (only the Rollout changes, as Terraform's plan would) and samples every
   * 100 ms until `done`. Traffic follows the Services: each Service's series get the profile of
   * the revision its selector points at, so Prometheus sees what a scrape through it would.
   */
  const release = async (
    title: string,
    tag: string,
    green: (service: string) => TrafficProfile,
    done: (s: Sample, hashes: { blue: string; green: string }) => boolean,
  ): Promise<{ samples: Sample[]; blue: string; green: string; seconds: number }> => {
    const before = await rollout();
    const blue = before.status?.stableRS ?? "";
    expect(blue).not.toBe("");
    const app = await appStack(tag);
    const next = stackObjects(app).objects.filter((o) => o.object.kind === "Rollout");
    expect(next).toHaveLength(1);
    const started = Date.now();
    await sendObjects(cluster, next);
    const samples: Sample[] = [];
    let greenHash = "";
    const deadline = started + 90_000;
    for (;;) {
      const s = await sample(started);
      samples.push(s);
      const current = s.rollout.status?.currentPodHash;
      if (current && current !== blue) greenHash = current;
      const profileOf = (service: string, hash: string | undefined) => (hash && hash === greenHash ? green(service) : healthy);
      traffic.set(activeService, namespace, profileOf(activeService, s.activeHash));
      traffic.set(previewService, namespace, s.previewHash ? profileOf(previewService, s.previewHash) : idle);
      if (greenHash && done(s, { blue, green: greenHash })) break;
      if (Date.now() > deadline) throw new Error(`${title}: not done within 90 s; last status ${JSON.stringify(s.rollout.status)}`);
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started - s.at))));
    }
    const seconds = (Date.now() - started) / 1000;
    sequences.push(sequenceOf(title, samples, blue, greenHash, seconds));
    return { samples, blue, green: greenHash, seconds };
  };

  /** The changes between samples, as lines: what the controller did, when. */
  const sequenceOf = (title: string, samples: Sample[], blue: string, green: string, seconds: number): string => {
    const name = (hash?: string) => (hash === blue ? "blue" : hash === green ? "green" : (hash ?? "none"));
    const lines: string[] = [];
    let last = "";
    const seen = new Map<string, string>();
    for (const s of samples) {
      const st = s.rollout.status ?? {};
      const sizes = s.replicaSets
        .map((r) => [name(r.metadata.labels["rollouts-pod-template-hash"]), r.status.readyReplicas ?? 0] as const)
        .filter(([n]) => n === "blue" || n === "green")
        .sort()
        .map(([n, c]) => `${n} ${c} ready`)
        .join(", ");
      const state = `Rollout ${st.phase}${st.abort ? " (aborted)" : ""}; active → ${name(s.activeHash)}, preview → ${name(s.previewHash)}; ${sizes}`;
      if (state !== last) lines.push(`${(s.at / 1000).toFixed(1).padStart(5)} s  ${state}`);
      last = state;
      for (const run of s.runs.filter((r) => r.metadata.name.includes(green))) {
        const phase = run.status?.phase || "Pending";
        if (seen.get(run.metadata.name) === phase) continue;
        seen.set(run.metadata.name, phase);
        const message = run.status?.metricResults?.[0]?.measurements?.at(-1)?.message;
        lines.push(
          `${(s.at / 1000).toFixed(1).padStart(5)} s  AnalysisRun ${run.metadata.name}: ${phase}${message ? ` (${message})` : ""}`,
        );
      }
    }
    const gates = kubelet.runs
      .filter((r) => r.startedAt >= new Date(Date.now() - seconds * 1000 - 1000).toISOString().replace(/\.\d+Z$/, "Z"))
      .map(
        (r) =>
          `gate Job pod ${r.pod} (host kubelet): node slo_gate.js --service ${r.argv[r.argv.indexOf("--service") + 1]} … exit ${r.exitCode}`,
      );
    const end = samples.at(-1)?.rollout.status?.message;
    return [
      `#### ${title} (${seconds.toFixed(1)} s)`,
      "",
      "```",
      ...lines,
      "```",
      "",
      ...gates.map((g) => `- ${g}`),
      ...(end ? [`- Rollout status message: ${end}`] : []),
      "",
    ].join("\n");
  };

  // The status of this revision's pre- or post-promotion AnalysisRun (its name carries the hash),
  // so that an earlier revision's abort is never taken for this one's.
  const preOf = (s: Sample, green: string) => {
    const run = s.rollout.status?.blueGreen?.prePromotionAnalysisRunStatus;
    return run?.name.includes(green) ? run.status : undefined;
  };
  const postOf = (s: Sample, green: string) => {
    const run = s.rollout.status?.blueGreen?.postPromotionAnalysisRunStatus;
    return run?.name.includes(green) ? run.status : undefined;
  };

  /** Every sample's active EndpointSlices had endpoints, all ready, all on Ready pods. */
  const expectZeroDowntime = (samples: Sample[]) => {
    const bad = samples.filter((s) => s.endpoints.length === 0 || s.endpoints.some((e) => !e.ready || !e.podReady));
    expect(bad.map((s) => ({ at: s.at, endpoints: s.endpoints }))).toEqual([]);
    expect(samples.length).toBeGreaterThan(10);
  };

  test("1. healthy release: pre-promotion analysis passes, promotion, post-promotion passes, blue scales down after its delay", async () => {
    const { samples, blue, green, seconds } = await release(
      "1. healthy release",
      "1.0.1",
      () => healthy,
      (s, { blue, green }) =>
        s.rollout.status?.phase === "Healthy" &&
        s.rollout.status.stableRS === green &&
        s.replicaSets.some((r) => r.metadata.labels["rollouts-pod-template-hash"] === blue && (r.spec.replicas ?? 0) === 0),
    );
    const end = samples.at(-1)!;
    expect(end.rollout.status?.stableRS).toBe(green);
    expect(end.activeHash).toBe(green);
    expect(end.rollout.status?.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe("Successful");
    expect(end.rollout.status?.blueGreen?.postPromotionAnalysisRunStatus?.status).toBe("Successful");
    // The active Service went from blue to green once, and never anywhere else.
    const actives = samples.map((s) => s.activeHash).filter((h, i, a) => h !== a[i - 1]);
    expect(actives).toEqual([blue, green]);
    // Blue kept its pods at least scaleDownDelaySeconds after the switch.
    const switched = samples.find((s) => s.activeHash === green)!.at;
    const blueGone = samples.find((s) =>
      s.replicaSets.some((r) => r.metadata.labels["rollouts-pod-template-hash"] === blue && (r.spec.replicas ?? 0) === 0),
    )!.at;
    expect(blueGone - switched).toBeGreaterThanOrEqual(29_000);
    expectZeroDowntime(samples);
    expect(seconds).toBeLessThanOrEqual(90);
  }, 120_000);

  test("2. error ratio above the threshold before promotion: AnalysisRun Failed, Rollout aborted, active never left blue", async () => {
    const { samples, blue, seconds } = await release(
      "2. error ratio breach before promotion",
      "1.0.2",
      () => erroring,
      (s, { green }) => s.rollout.status?.abort === true && preOf(s, green) === "Failed",
    );
    const end = samples.at(-1)!;
    expect(end.rollout.status?.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe("Failed");
    expect(end.rollout.status?.stableRS).toBe(blue);
    expect(new Set(samples.map((s) => s.activeHash))).toEqual(new Set([blue]));
    const gate = kubelet.runs.filter((r) => r.argv.includes(previewService)).at(-1)!;
    expect(gate.exitCode).toBe(1);
    expectZeroDowntime(samples);
    expect(seconds).toBeLessThanOrEqual(90);
  }, 120_000);

  test("3. p99 breach after promotion: post-promotion analysis fails and the active Service goes back to blue", async () => {
    const { samples, blue, green, seconds } = await release(
      "3. p99 breach after promotion",
      "1.0.3",
      // Fine under the smoke traffic on preview; slow under production traffic once active.
      (service) => (service === activeService ? slow : healthy),
      (s, { blue, green }) => s.rollout.status?.abort === true && postOf(s, green) === "Failed" && s.activeHash === blue,
    );
    const end = samples.at(-1)!;
    expect(end.rollout.status?.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe("Successful");
    expect(end.rollout.status?.blueGreen?.postPromotionAnalysisRunStatus?.status).toBe("Failed");
    const actives = samples.map((s) => s.activeHash).filter((h, i, a) => h !== a[i - 1]);
    expect(actives).toEqual([blue, green, blue]);
    expect(end.rollout.status?.stableRS).toBe(blue);
    const gate = kubelet.runs
      .filter((r) => r.argv.includes("--service") && r.argv[r.argv.indexOf("--service") + 1] === activeService)
      .at(-1)!;
    expect(gate.exitCode).toBe(1);
    expectZeroDowntime(samples);
    expect(seconds).toBeLessThanOrEqual(90);
  }, 120_000);

  test("4. no decision (too little traffic on preview): the gate exits 2 and the Rollout aborts without promoting", async () => {
    const { samples, blue, seconds } = await release(
      "4. no decision: too little traffic",
      "1.0.4",
      () => idle,
      (s, { green }) => s.rollout.status?.abort === true && preOf(s, green) === "Failed",
    );
    const end = samples.at(-1)!;
    expect(end.rollout.status?.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe("Failed");
    expect(new Set(samples.map((s) => s.activeHash))).toEqual(new Set([blue]));
    const gate = kubelet.runs.filter((r) => r.argv.includes(previewService)).at(-1)!;
    expect(gate.exitCode).toBe(2);
    expectZeroDowntime(samples);
    expect(seconds).toBeLessThanOrEqual(90);
  }, 120_000);

  test("5. bad input: the gate refuses at synth what the controller refuses at run time, and the policy quotes the controller's own error", async () => {
    const app = await appStack("1.0.5");
    const bundle = await loadShippedBundle();
    const parameters = policyParameters(validateEnvironment("local", localInput));
    const cases = [
      { rule: "MAESTRO-ROLLOUT-005", suffix: "bad-template", controllerSays: "AnalysisTemplate 'compliance-slo-gate-missing' not found" },
      { rule: "MAESTRO-ROLLOUT-006", suffix: "bad-args", controllerSays: "args.service-name was not resolved" },
    ];
    for (const c of cases) {
      const mutated = JSON.parse(JSON.stringify(app)) as TerraformJson;
      mutations.find((m) => m.rule === c.rule)!.apply(mutated, "local");
      // At synth: the wasm gate denies it, with the controller's words in the message.
      const report = runGate(bundle, [["app", mutated]], parameters);
      const denied = report.violations.filter((v) => v.rule === c.rule);
      expect(denied.length).toBeGreaterThan(0);
      expect(denied.some((v) => v.message.includes(c.controllerSays))).toBe(true);
      // At run time: the same Rollout, under its own name with its own two Services (copies of
      // the synthesized ones), is refused by the controller with InvalidSpec.
      const { objects } = stackObjects(mutated);
      const rolloutObject = objects.find((o) => o.object.kind === "Rollout")!.object as unknown as {
        metadata: { name: string; labels: Record<string, string> };
        spec: {
          selector: { matchLabels: Record<string, string> };
          template: { metadata: { labels: Record<string, string> } };
          strategy: { blueGreen: Record<string, unknown> };
        };
      };
      const name = `${rolloutName}-${c.suffix}`;
      const labels = { "app.kubernetes.io/name": name };
      const services = objects
        .filter((o) => o.object.kind === "Service")
        .map((o) => {
          const svc = JSON.parse(JSON.stringify(o.object)) as { metadata: { name: string }; spec: { selector: Record<string, string> } };
          svc.metadata.name = svc.metadata.name.replace(rolloutName, name);
          svc.spec.selector = labels;
          return { ...o, object: svc as never };
        });
      rolloutObject.metadata.name = name;
      rolloutObject.spec.selector.matchLabels = labels;
      rolloutObject.spec.template.metadata.labels = { ...rolloutObject.spec.template.metadata.labels, ...labels };
      rolloutObject.spec.strategy.blueGreen.activeService = name;
      rolloutObject.spec.strategy.blueGreen.previewService = `${name}-preview`;
      await sendObjects(cluster, services);
      await sendObjects(cluster, [{ address: "kubernetes_manifest.bad", via: "manifest", object: rolloutObject as never }]);
      let message = "";
      await waitFor(
        `${name} InvalidSpec`,
        async () => {
          const r = await api.get<{ status?: { conditions?: Array<{ type: string; status: string; message: string }> } }>(
            `/apis/argoproj.io/v1alpha1/namespaces/${namespace}/rollouts/${name}`,
          );
          message = r.status?.conditions?.find((x) => x.type === "InvalidSpec" && x.status === "True")?.message ?? "";
          return message !== "";
        },
        30_000,
        200,
      );
      console.log(`${c.rule}: the controller's InvalidSpec: ${message}`);
      expect(message).toContain(c.controllerSays);
    }
  }, 120_000);
});
