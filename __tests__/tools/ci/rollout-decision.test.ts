// Plays the rollout's decision: takes the AnalysisTemplate, the Rollout and the slo_gate.js
// ConfigMap exactly as synthesized, runs the Job's command the way its pod would (script from
// the ConfigMap at the mounted path, args templated from the AnalysisTemplate and the Rollout's
// per-phase args) against a real Prometheus, and maps the exit status through Argo Rollouts'
// rules (Job → measurement → metric → AnalysisRun → Rollout) to promote or abort.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { manifestsOf, resourcesOf, synthAll, type StackJson } from "../../../harness/synth";
import { describeWithService } from "../../support/services";
import {
  prometheusBinary,
  startMetricsTarget,
  startPrometheus,
  type MetricsTarget,
  type RunningPrometheus,
} from "../../../harness/prometheus";
import { waitFor } from "../../../lib/net";
import { runCommand, type GateRun } from "./support/slo-gate";
import { erroring, healthy, slow, TrafficSimulator } from "../../../harness/traffic";

type Obj = Record<string, unknown>;
interface Container {
  command: string[];
  args: string[];
  env?: Array<{ name: string; value?: string }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface JobSpec {
  backoffLimit: number;
  template: { spec: { containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string } }> } };
}
interface Metric {
  name: string;
  count: number;
  failureLimit: number;
  provider: { job: { spec: JobSpec } };
}
interface Template {
  metadata: { name: string };
  spec: { args: Array<{ name: string; value?: string }>; metrics: Metric[] };
}
interface Analysis {
  templates: Array<{ templateName: string }>;
  args: Array<{ name: string; value: string }>;
}
interface BlueGreen {
  activeService: string;
  previewService: string;
  autoPromotionEnabled: boolean;
  prePromotionAnalysis: Analysis;
  postPromotionAnalysis: Analysis;
}

/** Terraform's reading of a JSON string literal: `$${` and `%%{` are escapes for `${` and `%{`. */
const terraformUnescape = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

/** What the synthesized app stack tells Argo Rollouts, and the Job's pod, to do. */
class SynthesizedRollout {
  readonly template: Template;
  readonly blueGreen: BlueGreen;
  readonly metric: Metric;
  readonly container: Container;
  readonly scriptDir: string;

  constructor(app: StackJson, workDir: string) {
    const manifests = manifestsOf(app).map((m) => m.manifest as unknown as Obj & { kind: string });
    const rollout = manifests.find((m) => m.kind === "Rollout") as unknown as { spec: { strategy: { blueGreen: BlueGreen } } };
    this.blueGreen = rollout.spec.strategy.blueGreen;
    const templateName = this.blueGreen.prePromotionAnalysis.templates[0].templateName;
    this.template = manifests.find(
      (m) => m.kind === "AnalysisTemplate" && (m as unknown as Template).metadata.name === templateName,
    ) as unknown as Template;
    expect(this.template).toBeDefined();
    expect(this.template.spec.metrics).toHaveLength(1);
    this.metric = this.template.spec.metrics[0];
    const pod = this.metric.provider.job.spec.template.spec;
    expect(pod.containers).toHaveLength(1);
    this.container = pod.containers[0];

    // Materialize every ConfigMap volume the container mounts, from the synthesized ConfigMaps.
    const configMaps = Object.values(resourcesOf(app, "kubernetes_config_map_v1")) as Array<{
      metadata: { name: string };
      data: Record<string, string>;
    }>;
    this.scriptDir = join(workDir, "root");
    for (const mount of this.container.volumeMounts) {
      const volume = pod.volumes.find((v) => v.name === mount.name);
      const configMap = configMaps.find((c) => c.metadata.name === volume?.configMap?.name);
      expect(configMap).toBeDefined();
      for (const [file, text] of Object.entries(configMap!.data)) {
        const path = join(this.scriptDir, mount.mountPath, file);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, terraformUnescape(text));
      }
    }
  }

  /** Argo's templating: `{{args.NAME}}` from the template's defaults, overridden by the Rollout's args. */
  argsFor(phase: "pre" | "post", overrides: Record<string, string>): string[] {
    const analysis = phase === "pre" ? this.blueGreen.prePromotionAnalysis : this.blueGreen.postPromotionAnalysis;
    const values: Record<string, string | undefined> = {};
    for (const a of this.template.spec.args) values[a.name] = a.value;
    for (const a of analysis.args) values[a.name] = a.value;
    Object.assign(values, overrides);
    return this.container.args.map((arg) =>
      arg.replace(/\{\{args\.([\w-]+)\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new Error(`AnalysisTemplate arg '${name}' has no value in the ${phase}-promotion analysis`);
        return value;
      }),
    );
  }

  /** Runs the Job's container command: `node` is this Node, paths resolve under the mounted ConfigMaps. */
  async runJob(phase: "pre" | "post", overrides: Record<string, string>): Promise<GateRun & { args: string[] }> {
    const [command, ...commandArgs] = this.container.command;
    expect(command).toBe("node");
    const args = this.argsFor(phase, overrides);
    const env = Object.fromEntries((this.container.env ?? []).map((e) => [e.name, e.value ?? ""]));
    const run = await runCommand(
      process.execPath,
      [...commandArgs.map((a) => (a.startsWith("/") ? join(this.scriptDir, a) : a)), ...args],
      env,
    );
    return { ...run, args };
  }

  /**
   * Argo Rollouts' rules for a Job metric: exit 0 → Job Complete → measurement Successful; any
   * other exit → Job Failed (no retry with backoffLimit 0) → measurement Failed. The metric fails
   * once failures exceed failureLimit; the AnalysisRun fails with it. A failed pre- or post-
   * promotion analysis aborts the rollout: the active Service stays on / returns to blue.
   */
  decide(phase: "pre" | "post", exitCode: number | null): "promote" | "pause" | "complete" | "abort" {
    const { backoffLimit } = this.metric.provider.job.spec;
    const failures = exitCode === 0 ? 0 : backoffLimit + 1; // every attempt of a deterministic breach fails
    const measurements = Number(this.metric.count ?? 1);
    const metricFailed = failures > Number(this.metric.failureLimit ?? 0);
    const metricSucceeded = !metricFailed && measurements === 1;
    if (!metricSucceeded) return "abort";
    if (phase === "post") return "complete";
    return this.blueGreen.autoPromotionEnabled === false ? "pause" : "promote";
  }
}

describeWithService(
  "the rollout's SLO decision, played from the synthesized AnalysisTemplate",
  prometheusBinary ? undefined : "prometheus",
  () => {
    const envs = ["staging", "production"] as const;
    const rollouts = {} as Record<(typeof envs)[number], SynthesizedRollout>;
    let workDir: string;
    let target: MetricsTarget;
    let prom: RunningPrometheus;
    let traffic: TrafficSimulator;
    let active: string;
    let preview: string;
    let namespace: string;

    beforeAll(async () => {
      workDir = mkdtempSync(join(tmpdir(), "maestro-rollout-decision-"));
      for (const env of envs) rollouts[env] = new SynthesizedRollout((await synthAll(env)).app, join(workDir, env));
      ({ activeService: active, previewService: preview } = rollouts.staging.blueGreen);
      namespace = rollouts.staging.template.spec.args.find((a) => a.name === "namespace")!.value!;

      target = await startMetricsTarget();
      traffic = new TrafficSimulator(target);
      // Blue serves production traffic; green answers smoke traffic on the preview Service.
      traffic.set(active, namespace, healthy);
      traffic.set(preview, namespace, healthy);
      traffic.start();
      prom = await startPrometheus({ targets: [target.address], scrapeInterval: "1s" });
      // Production's gate needs 200 requests in the window; wait for comfortably more on both sides.
      await waitFor(
        "400 requests per service in Prometheus",
        async () => {
          const samples = await prom.query(`sum by (service) (increase(http_requests_total{namespace="${namespace}"}[5m]))`);
          return samples.length === 2 && samples.every((s) => Number(s.value[1]) >= 400);
        },
        30000,
        250,
      );
    }, 60000);

    afterAll(async () => {
      traffic?.stop();
      await prom?.stop();
      await target?.close();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    test("the Job runs the ConfigMap's slo_gate.js with the SLO from config, and only a Prometheus URL differs from the cluster", () => {
      for (const env of envs) {
        const args = rollouts[env].argsFor("pre", { "prometheus-url": prom.url });
        expect(args.slice(0, 6)).toEqual(["--prometheus", prom.url, "--service", preview, "--namespace", namespace]);
        expect(rollouts[env].argsFor("post", {})).toEqual(
          expect.arrayContaining(["--service", active, "--prometheus", "http://prometheus-server.monitoring.svc:9090"]),
        );
      }
    });

    test.each(envs)("%s: a healthy preview passes the pre-promotion gate and the rollout promotes", async (env) => {
      const run = await rollouts[env].runJob("pre", { "prometheus-url": prom.url });
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toMatchObject({ verdict: "pass", service: preview });
      expect(run.code).toBe(0);
      expect(rollouts[env].decide("pre", run.code)).toBe("promote");
    });

    test.each(envs)(
      "%s: after the switch, the healthy green side passes the post-promotion gate and the rollout completes",
      async (env) => {
        const run = await rollouts[env].runJob("post", { "prometheus-url": prom.url });
        expect(run.code).toBe(0);
        expect(rollouts[env].decide("post", run.code)).toBe("complete");
      },
    );

    describe("green starts failing under production traffic after promotion", () => {
      beforeAll(async () => {
        traffic.set(active, namespace, { ...erroring, errorShare: 0.5 });
        await waitFor(
          "the active error ratio above 2%",
          async () => {
            const [s] = await prom.query(
              `sum(rate(http_requests_total{service="${active}",code="500"}[5m])) / sum(rate(http_requests_total{service="${active}"}[5m]))`,
            );
            return s !== undefined && Number(s.value[1]) > 0.02;
          },
          20000,
          250,
        );
      }, 30000);

      test.each(envs)("%s: the post-promotion gate breaches (exit 1) and the rollout aborts back to blue", async (env) => {
        const run = await rollouts[env].runJob("post", { "prometheus-url": prom.url });
        const report = JSON.parse(run.stdout);
        expect(report).toMatchObject({ verdict: "breach", service: active });
        expect(report.slis.find((s: { name: string }) => s.name === "error ratio").verdict).toBe("breach");
        expect(run.code).toBe(1);
        expect(rollouts[env].decide("post", run.code)).toBe("abort");
      });
    });

    describe("the next green is slow on the preview Service", () => {
      beforeAll(async () => {
        traffic.set(preview, namespace, slow);
        await waitFor(
          "the preview p99 above 300 ms",
          async () => {
            const [s] = await prom.query(
              `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="${preview}"}[5m])))`,
            );
            return s !== undefined && Number(s.value[1]) > 0.3;
          },
          20000,
          250,
        );
      }, 30000);

      test.each(envs)("%s: the pre-promotion gate breaches (exit 1): no promotion, traffic stays on blue", async (env) => {
        const run = await rollouts[env].runJob("pre", { "prometheus-url": prom.url });
        const report = JSON.parse(run.stdout);
        expect(report.slis.find((s: { name: string }) => s.name === "p99 latency").verdict).toBe("breach");
        expect(run.code).toBe(1);
        expect(rollouts[env].decide("pre", run.code)).toBe("abort");
      });
    });

    test("with Prometheus down the gate has no data (exit 2) and the rollout aborts rather than promote", async () => {
      const url = prom.url;
      await prom.stop();
      const run = await rollouts.production.runJob("pre", { "prometheus-url": url });
      expect(run.code).toBe(2);
      expect(rollouts.production.decide("pre", run.code)).toBe("abort");
    });
  },
);
