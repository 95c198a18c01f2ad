// The host-process kubelet (tools/cluster/host-kubelet.ts) against a real API server: kwok leaves
// the labelled pods alone, the kubelet runs their command on the host with env and volumes
// resolved from real ConfigMaps and Secrets, and the Job controller reads the exit code it set;
// long-running replicas get their own address, readiness from their probe, restarts and a
// graceful termination, and the Deployment controller counts them.
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { kwokStageConfig, missingBinary, startControlPlane, type ControlPlane } from "../../../tools/cluster/control-plane";
import { spawn } from "node:child_process";
import {
  claimLoopbackNet,
  expandVars,
  hostPath,
  HostKubelet,
  imageRepository,
  PodConfigError,
  resolveProbe,
  routeAddresses,
  type ContainerImage,
} from "../../../tools/cluster/host-kubelet";
import { KubeApi } from "../../../tools/cluster/kube-api";
import { waitFor } from "../../../lib/net";
import { describeWithService } from "../../support/services";

const label = { name: "maestro.io/host-process", values: ["true"] };

describe("host kubelet: the pure parts", () => {
  test("$(VAR) expands from earlier variables, $$ escapes, unknown names stay as written", () => {
    expect(expandVars("--url=$(HOST):$(PORT) $$(HOST) $(NOPE)", { HOST: "127.0.0.1", PORT: "9090" })).toBe(
      "--url=127.0.0.1:9090 $(HOST) $(NOPE)",
    );
  });

  test("a path under a mountPath maps to the volume's folder (longest mount wins); others stay", () => {
    const mounts = [
      { mountPath: "/opt/maestro", hostDir: "/tmp/a" },
      { mountPath: "/opt/maestro/slo-gate", hostDir: "/tmp/b" },
    ];
    expect(hostPath("/opt/maestro/slo-gate/slo_gate.js", mounts)).toBe("/tmp/b/slo_gate.js");
    expect(hostPath("/opt/maestro/x", mounts)).toBe("/tmp/a/x");
    expect(hostPath("/opt/maestro-other/x", mounts)).toBe("/opt/maestro-other/x");
    expect(hostPath("--window", mounts)).toBe("--window");
  });
});

const missing = missingBinary();

describe("host kubelet: readiness probes as the kubelet reads them", () => {
  const container = { name: "web", ports: [{ name: "http", containerPort: 8080 }] };
  test("httpGet on a named port at the pod's address, with the kubelet's defaults", () => {
    expect(resolveProbe(container, { httpGet: { path: "/readyz", port: "http" } }, "127.9.0.3")).toEqual({
      url: "http://127.9.0.3:8080/readyz",
      headers: {},
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(resolveProbe(container, { tcpSocket: { port: 5432 }, periodSeconds: 2 }, "127.9.0.3")).toMatchObject({
      tcp: { host: "127.9.0.3", port: 5432 },
      periodMs: 2000,
    });
  });
  test("what it cannot run is refused with the reason, as a container config error", () => {
    expect(() => resolveProbe(container, { httpGet: { port: "metrics" } }, "127.9.0.3")).toThrow(
      new PodConfigError('container web: readinessProbe: port "metrics" is not a named port of the container'),
    );
    expect(() => resolveProbe(container, { exec: { command: ["true"] } }, "127.9.0.3")).toThrow(/only httpGet and tcpSocket probes/);
    expect(() => resolveProbe(container, { httpGet: { port: 8443, scheme: "HTTPS" } }, "127.9.0.3")).toThrow(/HTTP only/);
  });
});

describe("host kubelet: image references and addresses", () => {
  test.each([
    ["ghcr.io/maestro/compliance-service:1.0.0-rc.3", "ghcr.io/maestro/compliance-service"],
    ["localhost:5000/tool@sha256:abc", "localhost:5000/tool"],
    ["localhost:5000/tool:1@sha256:abc", "localhost:5000/tool"],
    ["busybox", "busybox"],
  ])("%s is of repository %s", (image, repository) => expect(imageRepository(image)).toBe(repository));

  test("every occurrence of each address is routed, the longest first, the rest left alone", () => {
    const addresses = { "http://a.ns.svc:80": "http://127.0.0.1:1", "http://a.ns.svc:8080": "http://127.0.0.1:2" };
    expect(routeAddresses("http://a.ns.svc:8080/x http://a.ns.svc:80/y http://b.ns.svc:80", addresses)).toBe(
      "http://127.0.0.1:2/x http://127.0.0.1:1/y http://b.ns.svc:80",
    );
    expect(routeAddresses("unchanged", undefined)).toBe("unchanged");
  });
});

describe("host kubelet: each kubelet's loopback /16 is its own", () => {
  test("a /16 another holder has claimed is skipped; released, it can be claimed again", async () => {
    const picks = [7, 7, 9];
    const first = await claimLoopbackNet(() => picks.shift()!);
    expect(first.net).toBe(7);
    // A second kubelet (in this process or another: the claim is a socket) that draws 7 again moves on.
    const second = await claimLoopbackNet(() => picks.shift()!);
    expect(second.net).toBe(9);
    expect(picks).toEqual([]);
    first.release();
    second.release();
    await new Promise((r) => setTimeout(r, 50));
    const again = await claimLoopbackNet(() => 7);
    expect(again.net).toBe(7);
    again.release();
  });

  test("a claim fails with a reason when every /16 drawn is held", async () => {
    const held = await claimLoopbackNet(() => 11);
    await expect(claimLoopbackNet(() => 11)).rejects.toThrow(/every 127\.R\.0\.0\/16 tried is held by another kubelet/);
    held.release();
  });
});

describeWithService("host kubelet: labelled pods run on the host, against the real API server", missing, () => {
  let cluster: ControlPlane;
  let kubelet: HostKubelet;
  let api: KubeApi;
  const work = mkdtempSync(join(tmpdir(), "maestro-host-kubelet-"));

  beforeAll(async () => {
    cluster = await startControlPlane({ dir: join(work, "cluster"), timeoutMs: 120_000, hostProcessLabel: label });
    api = new KubeApi(cluster);
    kubelet = HostKubelet.start(cluster, {
      label,
      workDir: join(work, "pods"),
      images: { "example.test/toolbox": toolbox },
      addresses: { "http://api.hk.svc:80": "http://127.0.0.1:9" },
    });
    await cluster.kubectl(["create", "namespace", "hk"]);
    await cluster.kubectl(["-n", "hk", "create", "configmap", "script", "--from-literal=run.js=" + script]);
    await cluster.kubectl(["-n", "hk", "create", "configmap", "settings", "--from-literal=greeting=hello"]);
    await cluster.kubectl(["-n", "hk", "create", "secret", "generic", "token", "--from-literal=value=s3cr3t"]);
  }, 180_000);

  afterAll(async () => {
    await kubelet?.stop();
    await cluster?.stop(true);
  });

  // An image the kubelet runs containers in: here its "inside" is the host's node, and each spawn
  // is recorded, so a test sees exactly what the kubelet asked of the image.
  const spawned: Array<{ command: string[]; env: Record<string, string>; volumes: Record<string, string>; cwd?: string }> = [];
  const toolbox: ContainerImage = {
    cmd: [process.execPath, "-e", "console.log(JSON.stringify(process.argv.slice(1)))", "--"],
    spawn: (command, o) => {
      spawned.push({ command, ...o });
      return spawn(command[0], command.slice(1), { env: o.env, stdio: ["ignore", "pipe", "pipe"] });
    },
  };

  // Prints what it was given and exits with the code in its first argument.
  const script = [
    "const fs = require('node:fs');",
    "console.log(JSON.stringify({ argv: process.argv.slice(2), greeting: process.env.GREETING, token: process.env.TOKEN,",
    "  pod: process.env.POD_NAME, url: process.env.URL, home: fs.existsSync(process.env.HOME) }));",
    "process.exit(Number(process.argv[2]));",
  ].join("\n");

  /** A Job run once (backoffLimit 0, restartPolicy Never); its pod is the host kubelet's unless `labels` say otherwise. */
  const hostJob = (name: string, containers: unknown[], volumes: unknown[] = [], labels = { [label.name]: label.values[0] }) => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "hk" },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: { restartPolicy: "Never", containers, ...(volumes.length ? { volumes } : {}) },
      },
    },
  });

  const job = (name: string, exitCode: string, labels: Record<string, string>, env: unknown[] = []) =>
    hostJob(
      name,
      [
        {
          name: "main",
          image: "ghcr.io/maestro/compliance-service:test",
          command: ["node", "/opt/script/run.js"],
          args: [exitCode, "$(GREETING)-$(POD_NAME)"],
          env: [
            { name: "GREETING", valueFrom: { configMapKeyRef: { name: "settings", key: "greeting" } } },
            { name: "TOKEN", valueFrom: { secretKeyRef: { name: "token", key: "value" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "URL", value: "http://$(POD_NAME):1" },
            ...env,
          ],
          volumeMounts: [{ name: "script", mountPath: "/opt/script", readOnly: true }],
        },
      ],
      [{ name: "script", configMap: { name: "script", defaultMode: 0o444 } }],
      labels,
    );

  interface PodList {
    items: Array<{
      metadata: { name: string };
      status: {
        phase: string;
        containerStatuses?: Array<{
          state: { terminated?: { exitCode: number; reason: string }; waiting?: { reason: string; message: string } };
        }>;
      };
    }>;
  }
  const podsOf = (jobName: string) => api.get<PodList>(`/api/v1/namespaces/hk/pods?labelSelector=job-name%3D${jobName}`);
  const jobCondition = async (jobName: string) => {
    const j = await api.get<{ status: { conditions?: Array<{ type: string; status: string }> } }>(
      `/apis/batch/v1/namespaces/hk/jobs/${jobName}`,
    );
    return j.status.conditions?.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")?.type;
  };
  const create = (o: unknown) => cluster.kubectl(["create", "-f", "-"], JSON.stringify(o));

  test("kwok's pod stages skip exactly the labelled pods (a NotIn on the label in each stage: Running, Succeeded, deletion)", () => {
    const stages = parseAllDocuments(readFileSync(kwokStageConfig(work, label), "utf8")).map(
      (d) => d.toJS() as { metadata: { name: string }; spec: { selector: { matchExpressions: Array<{ key: string; operator: string }> } } },
    );
    const excluded = stages
      .filter((s) =>
        s.spec.selector.matchExpressions.some((e) => e.key === '.metadata.labels."maestro.io/host-process"' && e.operator === "NotIn"),
      )
      .map((s) => s.metadata.name);
    expect(excluded.sort()).toEqual(["pod-complete", "pod-delete", "pod-ready"]);
  });

  test("a Job pod with the label runs on the host: env from ConfigMap, Secret and fieldRef, $(VAR) args, the mounted script; exit 0 completes the Job", async () => {
    await create(job("ok", "0", { [label.name]: label.values[0] }));
    await waitFor("Job ok Complete", async () => (await jobCondition("ok")) === "Complete", 30_000, 200);
    const [pod] = (await podsOf("ok")).items;
    expect(pod.status.phase).toBe("Succeeded");
    expect(pod.status.containerStatuses?.[0].state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const [run] = kubelet.runsOf("hk", pod.metadata.name);
    expect(run.argv[0]).toBe(process.execPath);
    expect(run.argv[1]).toMatch(new RegExp(`^${join(work, "pods", `hk_${pod.metadata.name}_`)}[0-9a-f]{8}/volumes/script/run\\.js$`));
    expect(JSON.parse(run.output.trim())).toEqual({
      argv: ["0", `hello-${pod.metadata.name}`],
      greeting: "hello",
      token: "s3cr3t",
      pod: pod.metadata.name,
      url: `http://${pod.metadata.name}:1`,
      home: true,
    });
  });

  test("a container of a registered image runs through it: its CMD, volumes at their mountPaths, addresses routed", async () => {
    await create(
      hostJob(
        "image",
        [
          {
            name: "main",
            image: "example.test/toolbox:1.2.3",
            args: ["--push", "http://api.hk.svc:80/sync"],
            env: [{ name: "UPSTREAM", value: "http://api.hk.svc:80" }],
            volumeMounts: [
              { name: "script", mountPath: "/opt/script" },
              { name: "tmp", mountPath: "/tmp" },
            ],
          },
        ],
        [
          { name: "script", configMap: { name: "script" } },
          { name: "tmp", emptyDir: {} },
        ],
      ),
    );
    await waitFor("Job image Complete", async () => (await jobCondition("image")) === "Complete", 30_000, 200);
    const [pod] = (await podsOf("image")).items;
    const [run] = kubelet.runsOf("hk", pod.metadata.name);
    // The image's CMD, then the args; both addresses routed; paths left as the image sees them.
    expect(run.argv).toEqual([...toolbox.cmd, "--push", "http://127.0.0.1:9/sync"]);
    expect(JSON.parse(run.output.trim())).toEqual(["--push", "http://127.0.0.1:9/sync"]);
    const seen = spawned.find((s) => s.env.UPSTREAM !== undefined)!;
    expect(seen.env).toEqual({ UPSTREAM: "http://127.0.0.1:9" });
    // The two mounts, and the service-account token the API server's admission projected into the pod.
    expect(Object.keys(seen.volumes).sort()).toEqual(["/opt/script", "/tmp", "/var/run/secrets/kubernetes.io/serviceaccount"]);
    expect(readFileSync(join(seen.volumes["/opt/script"], "run.js"), "utf8")).toBe(script);
    expect(statSync(seen.volumes["/tmp"]).mode & 0o7777).toBe(0o1777);
    expect(seen.cwd).toBeUndefined(); // the image's WORKDIR
  });

  test("exit 3 fails the pod with that exit code, and the Job controller fails the Job (backoffLimit 0)", async () => {
    await create(job("breach", "3", { [label.name]: label.values[0] }));
    await waitFor("Job breach Failed", async () => (await jobCondition("breach")) === "Failed", 30_000, 200);
    const [pod] = (await podsOf("breach")).items;
    expect(pod.status.phase).toBe("Failed");
    expect(pod.status.containerStatuses?.[0].state.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
  });

  test("a pod without the label is kwok's: Succeeded without running anything, even when its command would exit 3", async () => {
    await create(job("kwok", "3", {}));
    await waitFor("Job kwok Complete", async () => (await jobCondition("kwok")) === "Complete", 30_000, 200);
    const [pod] = (await podsOf("kwok")).items;
    expect(kubelet.runsOf("hk", pod.metadata.name)).toEqual([]);
  });

  // Two replicas of one server, both on port 8080 of "every address": each pod's own address.
  // /ready answers 503 after /unready, /alive 500 after /hang; /exit ends the process with 1;
  // SIGTERM is logged.
  const server = [
    "const http = require('node:http');",
    "let ready = true;",
    "let alive = true;",
    "const s = http.createServer((req, res) => {",
    "  if (req.url === '/ready') { res.statusCode = ready ? 200 : 503; return res.end(); }",
    "  if (req.url === '/alive') { res.statusCode = alive ? 200 : 500; return res.end(); }",
    "  if (req.url === '/hang') { alive = false; return res.end('ok'); }",
    "  if (req.url === '/unready') { ready = false; return res.end('ok'); }",
    "  if (req.url === '/exit') { res.end('bye'); return setTimeout(() => process.exit(1), 10); }",
    "  res.end(JSON.stringify({ pod: process.env.POD_NAME, ip: process.env.POD_IP }));",
    "});",
    "process.on('SIGTERM', () => { console.log('SIGTERM at ' + Date.now()); s.close(); process.exit(0); });",
    "s.listen(Number(process.env.PORT), process.env.HOST, () => console.log('listening at ' + Date.now()));",
  ].join("\n");

  interface ServedPod {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    status: {
      podIP?: string;
      conditions?: Array<{ type: string; status: string }>;
      containerStatuses?: Array<{ ready: boolean; restartCount: number; lastState?: { terminated?: { exitCode: number } } }>;
    };
  }
  const served = async () =>
    (await api.get<{ items: ServedPod[] }>(`/api/v1/namespaces/hk/pods?labelSelector=app%3Dweb`)).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const isReady = (p: ServedPod) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

  test("replicas of a Deployment serve on the same port at their own address, Ready only once their readiness probe passes", async () => {
    await cluster.kubectl(["-n", "hk", "create", "configmap", "web", "--from-literal=server.js=" + server]);
    await create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "hk" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web", [label.name]: label.values[0] } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: "web",
                image: "example.test/web:1",
                command: ["node", "/srv/server.js"],
                env: [
                  { name: "HOST", value: "0.0.0.0" },
                  { name: "PORT", value: "8080" },
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                ],
                ports: [{ name: "http", containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 1, failureThreshold: 1 },
                livenessProbe: { httpGet: { path: "/alive", port: "http" }, periodSeconds: 1, failureThreshold: 2 },
                lifecycle: { preStop: { sleep: { seconds: 1 } } },
                volumeMounts: [{ name: "srv", mountPath: "/srv" }],
              },
            ],
            volumes: [{ name: "srv", configMap: { name: "web" } }],
          },
        },
      },
    });
    await waitFor("2 web pods Ready", async () => (await served()).filter(isReady).length === 2, 30_000, 200);
    const pods = await served();
    const ips = pods.map((p) => p.status.podIP!);
    expect(new Set(ips).size).toBe(2);
    for (const ip of ips) expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
    // Each answers at its own address on the port both listen on, and knows its address (fieldRef status.podIP).
    for (const p of pods)
      expect(await (await fetch(`http://${p.status.podIP}:8080/`)).json()).toEqual({ pod: p.metadata.name, ip: p.status.podIP });
    // The Deployment controller counts them available.
    await waitFor(
      "Deployment web available",
      async () =>
        (await api.get<{ status: { availableReplicas?: number } }>("/apis/apps/v1/namespaces/hk/deployments/web")).status
          .availableReplicas === 2,
      10_000,
      200,
    );
  });

  test("a pod naming a Service of these pods reaches a ready one, at its address and the Service's targetPort", async () => {
    await create({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "hk" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    const fetcher =
      "fetch(process.env.WEB + '/').then(async (r) => console.log(await r.text()), (e) => (console.log(e.message), process.exit(1)))";
    await create(
      hostJob("client", [
        { name: "main", image: "example.test/web:1", command: ["node", "-e", fetcher], env: [{ name: "WEB", value: "http://web.hk.svc" }] },
      ]),
    );
    await waitFor("Job client Complete", async () => (await jobCondition("client")) === "Complete", 30_000, 200);
    const [clientPod] = (await podsOf("client")).items;
    const [run] = kubelet.runsOf("hk", clientPod.metadata.name);
    const pods = await served();
    const answer = JSON.parse(run.output.trim()) as { pod: string; ip: string };
    expect(pods.map((p) => p.metadata.name)).toContain(answer.pod);
    expect(run.env.WEB).toBe(`http://${answer.ip}:8080`);
  });

  test("a failing readiness probe takes the pod out of Ready; an exited container is restarted (restartCount, lastState)", async () => {
    const [pod] = await served();
    const ip = pod.status.podIP!;
    await fetch(`http://${ip}:8080/unready`);
    const named = async () => (await served()).find((p) => p.metadata.name === pod.metadata.name)!;
    await waitFor("pod NotReady", async () => !isReady(await named()), 10_000, 100);
    // The process exits 1: restarted after the backoff, Ready again, on the same address.
    await fetch(`http://${ip}:8080/exit`);
    await waitFor(
      "restarted and Ready",
      async () => {
        const p = await named();
        return p.status.containerStatuses?.[0].restartCount === 1 && isReady(p);
      },
      20_000,
      100,
    );
    const p = await named();
    expect(p.status.containerStatuses?.[0].lastState?.terminated?.exitCode).toBe(1);
    expect(p.status.podIP).toBe(ip);
    expect(kubelet.runsOf("hk", pod.metadata.name).map((r) => r.exitCode)).toEqual([1, undefined]);
    expect(await (await fetch(`http://${ip}:8080/`)).json()).toEqual({ pod: pod.metadata.name, ip });
  });

  test("a failing liveness probe kills the container (preStop sleep, then SIGTERM) and it is restarted: restartCount up, Ready again", async () => {
    const [pod] = await served();
    const ip = pod.status.podIP!;
    const restarts = pod.status.containerStatuses?.[0].restartCount ?? 0;
    const named = async () => (await served()).find((p) => p.metadata.name === pod.metadata.name)!;
    const hungAt = Date.now();
    await fetch(`http://${ip}:8080/hang`);
    await waitFor(
      "killed, restarted and Ready",
      async () => {
        const p = await named();
        return p.status.containerStatuses?.[0].restartCount === restarts + 1 && isReady(p);
      },
      20_000,
      100,
    );
    const runs = kubelet.runsOf("hk", pod.metadata.name);
    const killed = runs[runs.length - 2];
    expect(killed.killedForLiveness).toBe(true);
    expect(killed.output).toMatch(/liveness probe failed 2 time\(s\) \(http:\/\/127\.[\d.]+:8080\/alive\): killing the container/);
    // Two failed probes a second apart, then the preStop sleep (1 s), then SIGTERM.
    expect(Number(/SIGTERM at (\d+)/.exec(killed.output)![1]) - hungAt).toBeGreaterThanOrEqual(1900);
    expect((await named()).status.podIP).toBe(ip);
    expect((await fetch(`http://${ip}:8080/alive`)).status).toBe(200);
  });

  test("a deleted pod gets its preStop sleep, then SIGTERM, and is removed; the Deployment replaces it", async () => {
    const [pod] = await served();
    const deletedAt = Date.now();
    await cluster.kubectl(["-n", "hk", "delete", "pod", pod.metadata.name, "--wait=false"]);
    await waitFor(
      "the pod removed",
      async () => (await api.find(`/api/v1/namespaces/hk/pods/${pod.metadata.name}`)) === undefined,
      15_000,
      100,
    );
    const runs = kubelet.runsOf("hk", pod.metadata.name);
    const sigterm = /SIGTERM at (\d+)/.exec(runs[runs.length - 1].output);
    expect(sigterm).not.toBeNull();
    // The preStop sleep (1 s) came first.
    expect(Number(sigterm![1]) - deletedAt).toBeGreaterThanOrEqual(900);
    expect(runs[runs.length - 1].exitCode).toBe(0);
    await waitFor("2 web pods Ready again", async () => (await served()).filter(isReady).length === 2, 30_000, 200);
    await cluster.kubectl(["-n", "hk", "delete", "deployment", "web", "--wait=false"]);
  });

  test("KubeApi: a DELETE with a body (DeleteOptions) leaves its connection usable for the next request", async () => {
    await cluster.kubectl(["-n", "hk", "create", "configmap", "doomed", "--from-literal=a=b"]);
    const path = "/api/v1/namespaces/hk/configmaps/doomed";
    await api.send("DELETE", path, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 });
    // Node frames no DELETE body by itself: unframed, the API server read it as the next request (400).
    expect(await api.find(path)).toBeUndefined();
    expect(await api.find("/api/v1/namespaces/hk/configmaps/settings")).toMatchObject({ data: { greeting: "hello" } });
  });

  test("a missing Secret key keeps the pod Pending with CreateContainerConfigError naming it, as the kubelet does", async () => {
    await create(
      job("nokey", "0", { [label.name]: label.values[0] }, [{ name: "X", valueFrom: { secretKeyRef: { name: "token", key: "nope" } } }]),
    );
    await waitFor(
      "pod of nokey waiting",
      async () => (await podsOf("nokey")).items[0]?.status.containerStatuses?.[0]?.state.waiting !== undefined,
      30_000,
      200,
    );
    const [pod] = (await podsOf("nokey")).items;
    expect(pod.status.phase).toBe("Pending");
    expect(pod.status.containerStatuses?.[0].state.waiting).toEqual({
      reason: "CreateContainerConfigError",
      message: 'container main: couldn\'t find key nope in secret "token"',
    });
    expect(kubelet.runsOf("hk", pod.metadata.name)).toEqual([]);
  });
});
