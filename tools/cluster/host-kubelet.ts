// The host-process kubelet: kwok's pods run nothing, so for the pods whose outcome matters (the
// analysis Job's SLO gate, the project's own Jobs and the compliance Rollout's pods in verify:ga
// --local-cluster) this plays the kubelet on the host. It watches the local API server for pods
// with one label (the control plane started with the same `hostProcessLabel`, so kwok's pod stages
// skip them), runs each container's command and args with its environment (valueFrom ConfigMaps,
// Secrets and fields resolved; ConfigMap, Secret, projected and emptyDir volumes written to a
// folder per pod), and sets the pod's status from the result: phase, conditions, and each
// container's state, readiness, restart count and exit code. See docs/cluster.md.
//
// A container of one of the project's own images (`images`) runs inside that image as built by
// harness/dockerfile.ts (its files, ENV, WORKDIR and USER, read-only root, volumes bound at their
// mountPaths). Any other container runs with the host's programs (`node` is this Node), and a path
// under a volume's mountPath in its command, args or workingDir is rewritten to that volume's
// folder on the host. A Service URL the pod names (`http://<svc>.<ns>.svc:<port>`) goes to a ready
// pod of that Service this kubelet runs; other addresses (external hosts, Services it does not
// run) are routed to where they are on this host (`addresses`).
//
// The pod's network: each pod gets its own loopback address (127.R.x.y, R random per kubelet and
// claimed, so two kubelets on one host, a suite's and verify:ga's, never share it) as its podIP,
// and an environment value of exactly 0.0.0.0 (the image's or the pod's: "listen on every address
// of the pod") becomes that address, so two replicas listening on the same port do not collide. Readiness probes (httpGet, tcpSocket) run against it and set the pod's Ready
// condition; liveness probes kill a container that fails them (preStop sleep, SIGTERM, SIGKILL after
// the grace period); restartPolicy Always and OnFailure restart an exited container (backoff 1 s
// doubling to 10 s; the kubelet's is 10 s to 5 min); a deleted pod gets its preStop sleep, SIGTERM,
// SIGKILL after its grace period, and is then removed, as the kubelet does. What it is not: no
// image pulls, no startup probes, no exec probes or hooks, no resource limits.
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { chmodSync, createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { podLabelSelector, type ControlPlane, type PodLabel } from "./control-plane";
import { KubeApi, KubeApiError } from "./kube-api";
import { MaestroError } from "../../lib/errors";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: unknown;
  };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: Array<{
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown; httpGet?: unknown } };
}

/** A probe as the pod spec writes it (the kubelet's defaults apply to what is left out). */
interface Probe {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: number | string; host?: string };
  exec?: unknown;
  grpc?: unknown;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  /** Liveness only: the grace period of a kill for a failed probe (else the pod's). */
  terminationGracePeriodSeconds?: number;
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: Array<{ key: string; path: string; mode?: number }>; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: Array<{ key: string; path: string; mode?: number }>; defaultMode?: number; optional?: boolean };
  emptyDir?: unknown;
  projected?: {
    defaultMode?: number;
    sources: Array<{
      configMap?: { name: string; items?: KeyPath[]; optional?: boolean };
      secret?: { name: string; items?: KeyPath[]; optional?: boolean };
      downwardAPI?: { items: Array<{ path: string; fieldRef?: { fieldPath: string } }> };
      serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
    }>;
  };
}

interface KeyPath {
  key: string;
  path: string;
  mode?: number;
}

/** The parts of a Pod this kubelet reads. */
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
  };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
    terminationGracePeriodSeconds?: number;
  };
  status?: { phase?: string; podIP?: string; hostIP?: string; conditions?: Array<{ type: string; status: string }> };
}

/** A pod configuration the kubelet cannot start (the real one reports CreateContainerConfigError). */
export class PodConfigError extends MaestroError<"POD_CONFIG_INVALID"> {
  constructor(message: string) {
    super("POD_CONFIG_INVALID", message);
  }
}

/** One container run: what ran, and how it ended. */
export interface ContainerRun {
  pod: string;
  container: string;
  /** The program and its arguments as run on the host (paths mapped, `$(VAR)` expanded). */
  argv: string[];
  env: Record<string, string>;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  /** stdout and stderr, interleaved as written (also in <workDir>/<pod>/<container>.log). */
  output: string;
  /** Set when the kubelet killed it because its liveness probe failed (then restarted, as restartPolicy says). */
  killedForLiveness?: boolean;
}

export interface HostKubeletOptions {
  /** The pods it runs: those with this label (the control plane's `hostProcessLabel`). */
  label: PodLabel;
  /** Folder for each pod's volumes and logs. */
  workDir: string;
  /**
   * The image's programs, by the name a command uses (e.g. `node` → this Node). A command naming
   * any other program is looked up on the host's PATH. @default { node: process.execPath }
   */
  programs?: Record<string, string>;
  /** The image's entry point, for containers without `command`. @default none (such a pod is refused) */
  entrypoints?: Record<string, string[]>;
  /**
   * The project's own images, by repository (the image reference without tag or digest): a
   * container of one of them runs inside it (harness/dockerfile.ts: its files, ENV, WORKDIR and
   * USER, volumes bound at their mountPaths), not with the host's programs.
   */
  images?: Record<string, ContainerImage>;
  /**
   * Where the addresses a pod names are on this host, as cluster DNS, a Service and an egress
   * ServiceEntry would route them: each key (e.g. `http://compliance.maestro.svc:8080`) is
   * replaced by its value in the command, args and env values.
   */
  addresses?: Record<string, string>;
}

/** An image the kubelet can run containers in. */
export interface ContainerImage {
  /** The image's CMD: the command of a container that sets none. */
  cmd: string[];
  /** The image's ENV (a value of 0.0.0.0 in it becomes the pod's address). @default {} */
  env?: Record<string, string>;
  /** Spawns a command in the image with this environment (added to the image's ENV) and these host folders bound at image paths. */
  spawn(command: string[], options: { env: Record<string, string>; volumes: Record<string, string>; cwd?: string }): ChildProcess;
}

/** `registry/name:tag@digest` → `registry/name`. */
export function imageRepository(image: string): string {
  const name = image.split("@")[0];
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}

/** The addresses map applied to one string: every occurrence of each key replaced, longest keys first. */
export function routeAddresses(text: string, addresses: Record<string, string> | undefined): string {
  if (!addresses) return text;
  let out = text;
  for (const key of Object.keys(addresses).sort((a, b) => b.length - a.length)) out = out.split(key).join(addresses[key]);
  return out;
}

/** A container ready to start: on the host (argv with host paths) or in one of the project's images. */
interface PreparedContainer {
  container: Container;
  argv: string[];
  env: Record<string, string>;
  /** The working directory: on the host, or inside the image (undefined: its WORKDIR). */
  cwd?: string;
  image?: ContainerImage;
  /** For an image: mountPath → the volume's host folder. */
  volumes?: Record<string, string>;
  /** The readiness probe, resolved: what to connect to, and how often. */
  readiness?: ResolvedProbe;
  /** The liveness probe, resolved. */
  liveness?: ResolvedProbe;
}

interface ResolvedProbe {
  /** http://<pod IP>:<port><path>, or a TCP port */
  url?: string;
  headers?: Record<string, string>;
  tcp?: { host: string; port: number };
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
  /** Liveness: the probe's own kill grace period, when it sets one. */
  terminationGraceMs?: number;
}

/** What the kubelet reports of one container while its pod lives. */
interface ContainerState {
  ready: boolean;
  restartCount: number;
  state: Record<string, unknown>;
  lastState?: Record<string, unknown>;
}

/** The wildcard address: in a pod's own network it is every address of the pod, here its one. */
export const wildcardAddress = "0.0.0.0";

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const podKey = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;

/** Kubernetes' `$(VAR)` expansion of command, args and env values: `$$` escapes, unknown names stay. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? "$" : (vars[name] ?? whole),
  );
}

/** A container path as seen on the host: under the longest matching mountPath, else unchanged. */
export function hostPath(path: string, mounts: ReadonlyArray<{ mountPath: string; hostDir: string }>): string {
  const match = mounts
    .filter((m) => path === m.mountPath || path.startsWith(m.mountPath.replace(/\/$/, "") + "/"))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return match ? join(match.hostDir, path.slice(match.mountPath.length)) : path;
}

/** A field of the pod as `fieldRef.fieldPath` names it (the kubelet's downward API). */
function podField(pod: Pod, fieldPath: string, podIP: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation) return pod.metadata[labelOrAnnotation[1] as "labels" | "annotations"]?.[labelOrAnnotation[2]] ?? "";
  const fields: Record<string, string | undefined> = {
    "metadata.name": pod.metadata.name,
    "metadata.namespace": pod.metadata.namespace,
    "metadata.uid": pod.metadata.uid,
    "spec.nodeName": pod.spec.nodeName,
    "spec.serviceAccountName": pod.spec.serviceAccountName,
    "status.hostIP": "127.0.0.1",
    "status.podIP": podIP,
  };
  if (!(fieldPath in fields)) throw new PodConfigError(`fieldRef ${fieldPath} is not supported by the host kubelet`);
  return fields[fieldPath] ?? "";
}

/** How long a pod whose configuration cannot be met (a missing Secret) waits before it is tried again. */
const configRetryMs = 2000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** A probe with the kubelet's defaults, its port resolved against the container's ports (a name or a number). */
export function resolveProbe(
  container: Pick<Container, "name" | "ports">,
  probe: Probe,
  podIP: string,
  kind: "readinessProbe" | "livenessProbe" = "readinessProbe",
): ResolvedProbe {
  const where = `container ${container.name}: ${kind}`;
  const port = (p: number | string) => {
    if (typeof p === "number" || /^\d+$/.test(p)) return Number(p);
    const named = container.ports?.find((q) => q.name === p);
    if (!named) throw new PodConfigError(`${where}: port "${p}" is not a named port of the container`);
    return named.containerPort;
  };
  const timing = {
    initialDelayMs: 1000 * (probe.initialDelaySeconds ?? 0),
    periodMs: 1000 * (probe.periodSeconds ?? 10),
    timeoutMs: 1000 * (probe.timeoutSeconds ?? 1),
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
    ...(probe.terminationGracePeriodSeconds !== undefined ? { terminationGraceMs: 1000 * probe.terminationGracePeriodSeconds } : {}),
  };
  if (probe.httpGet) {
    const h = probe.httpGet;
    if ((h.scheme ?? "HTTP") !== "HTTP")
      throw new PodConfigError(`${where}: scheme ${h.scheme} is not supported by the host kubelet (HTTP only)`);
    const path = h.path ?? "/";
    const headers = Object.fromEntries((h.httpHeaders ?? []).map((x) => [x.name, x.value]));
    return { ...timing, url: `http://${h.host ?? podIP}:${port(h.port)}${path.startsWith("/") ? path : `/${path}`}`, headers };
  }
  if (probe.tcpSocket) return { ...timing, tcp: { host: probe.tcpSocket.host ?? podIP, port: port(probe.tcpSocket.port) } };
  throw new PodConfigError(`${where}: only httpGet and tcpSocket probes are supported by the host kubelet`);
}

/** One probe: an HTTP status 200-399, or a TCP connection, within the timeout. */
async function probeOnce(probe: ResolvedProbe): Promise<boolean> {
  if (probe.url) {
    try {
      const res = await fetch(probe.url, { headers: probe.headers, signal: AbortSignal.timeout(probe.timeoutMs), redirect: "manual" });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  const { host, port } = probe.tcp!;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: probe.timeoutMs });
    const end = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.once("connect", () => end(true));
    socket.once("timeout", () => end(false));
    socket.once("error", () => end(false));
  });
}

/** The port a kubelet holds on 127.R.0.1 while it uses 127.R.0.0/16 (below lib/net's freePort range). */
export const netClaimPort = 19999;

/**
 * Claims a /16 of the loopback network for one kubelet's pods: the first R (from `pick`) whose
 * 127.R.0.1:netClaimPort it can listen on. Another process holding that socket uses the /16; the
 * kernel frees it when the holder ends, so a crash leaves nothing behind. Pod addresses start at 127.R.0.3.
 */
export async function claimLoopbackNet(pick: () => number = () => 1 + randomInt(254)): Promise<{ net: number; release: () => void }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const net = pick();
    const server: Server = createServer();
    server.unref();
    const held = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(netClaimPort, `127.${net}.0.1`, () => resolve(true));
    });
    if (held) return { net, release: () => server.close() };
  }
  throw new Error("host kubelet: every 127.R.0.0/16 tried is held by another kubelet");
}

export class HostKubelet {
  private readonly api: KubeApi;
  private readonly started = new Set<string>();
  private readonly processes = new Map<string, ChildProcess[]>();
  /** Pods being deleted (uid), so each is terminated once. */
  private readonly deleting = new Set<string>();
  /** Wakes a pod's waits (backoff, probe period) when it is deleted or the kubelet stops. */
  private readonly wake = new Map<string, AbortController>();
  private readonly addresses = new Map<string, string>();
  /** 127.<net>.x.y: one /16 of the loopback network per kubelet, claimed at start (claimLoopbackNet). */
  private net = 0;
  private releaseNet?: () => void;
  private nextAddress = 2;
  private stopping = false;
  private stopWatch?: () => void;
  private readonly pending = new Set<Promise<void>>();
  /** Every container run so far, in start order. */
  readonly runs: ContainerRun[] = [];
  /** Problems met (a status write refused, a pod that could not start), newest last. */
  readonly problems: string[] = [];

  private constructor(
    cluster: ControlPlane,
    private readonly options: HostKubeletOptions,
  ) {
    this.api = new KubeApi(cluster);
  }

  /** Starts watching; pods already there are handled too. */
  static start(cluster: ControlPlane, options: HostKubeletOptions): HostKubelet {
    const label = cluster.state.hostProcessLabel;
    const wanted = podLabelSelector(options.label);
    if (!label || podLabelSelector(label) !== wanted)
      throw new Error(
        `host kubelet: the control plane leaves ${label ? podLabelSelector(label) : "no pods"} to the host, not ${wanted} (startControlPlane({ hostProcessLabel }))`,
      );
    const kubelet = new HostKubelet(cluster, options);
    const selector = encodeURIComponent(wanted);
    // No pod is handled before the kubelet has its network.
    kubelet.track(
      claimLoopbackNet().then(({ net, release }) => {
        kubelet.net = net;
        kubelet.releaseNet = release;
        if (kubelet.stopping) return;
        kubelet.stopWatch = kubelet.api.watch<Pod>(
          `/api/v1/pods?labelSelector=${selector}`,
          (event) => kubelet.track(kubelet.handle(event.type, event.object)),
          (err) => kubelet.problems.push(`watch: ${err.message}`),
        );
      }),
    );
    return kubelet;
  }

  /** The runs of one pod's containers (namespace/name). */
  runsOf(namespace: string, name: string): ContainerRun[] {
    return this.runs.filter((r) => r.pod === `${namespace}/${name}`);
  }

  /** Stops watching and kills what still runs (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatch?.();
    for (const w of this.wake.values()) w.abort();
    for (const list of this.processes.values()) for (const p of list) p.kill("SIGTERM");
    const deadline = Date.now() + 2000;
    while (this.anyRunning([...this.processes.values()].flat()) && Date.now() < deadline) await sleep(50);
    for (const list of this.processes.values()) for (const p of list) if (p.exitCode === null) p.kill("SIGKILL");
    await Promise.allSettled([...this.pending]);
    this.releaseNet?.();
  }

  private anyRunning(children: ChildProcess[]): boolean {
    return children.some((p) => p.exitCode === null && p.signalCode === null);
  }

  /**
   * As the kubelet stops running containers (a deleted pod's, or one that failed its liveness
   * probe): the preStop sleep, SIGTERM, then SIGKILL once the grace period is over. Each wait ends
   * early when every one has exited, or the kubelet stops.
   */
  private async stopContainers(children: ChildProcess[], preStopSeconds: number, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    const whileRunning = async (until: number) => {
      while (this.anyRunning(children) && Date.now() < until && !this.stopping) await sleep(50);
    };
    if (!this.anyRunning(children)) return;
    await whileRunning(Date.now() + Math.min(preStopSeconds * 1000, graceMs));
    for (const p of children) if (this.anyRunning([p])) p.kill("SIGTERM");
    await whileRunning(deadline);
    for (const p of children) if (this.anyRunning([p])) p.kill("SIGKILL");
  }

  /** The pod's own loopback address, the same for every event of the pod. */
  private podIP(pod: Pod): string {
    let ip = this.addresses.get(pod.metadata.uid);
    if (!ip) {
      const n = this.nextAddress++;
      ip = `127.${this.net}.${Math.floor(n / 254) % 256}.${1 + (n % 254)}`;
      this.addresses.set(pod.metadata.uid, ip);
    }
    return ip;
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err: Error) => void this.problems.push(err.message)).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async handle(type: string, pod: Pod): Promise<void> {
    const uid = pod.metadata.uid;
    if (type === "DELETED") {
      // Gone (force-deleted, or removed by us after its containers stopped): nothing may keep running.
      this.wake.get(uid)?.abort();
      for (const p of this.processes.get(uid) ?? []) if (p.exitCode === null) p.kill("SIGKILL");
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      if (this.deleting.has(uid)) return;
      this.deleting.add(uid);
      await this.terminate(pod);
      return;
    }
    const phase = pod.status?.phase ?? "Pending";
    if (!pod.spec.nodeName || phase !== "Pending" || this.started.has(uid)) return;
    this.started.add(uid);
    await this.run(pod);
  }

  /**
   * As the kubelet stops a deleted pod: each container's preStop sleep, then SIGTERM, SIGKILL once
   * the grace period is over; then the pod is removed (a zero-grace delete).
   */
  private async terminate(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid;
    this.wake.get(uid)?.abort();
    await this.stopContainers(
      this.processes.get(uid) ?? [],
      Math.max(0, ...pod.spec.containers.map((c) => c.lifecycle?.preStop?.sleep?.seconds ?? 0)),
      1000 * (pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30),
    );
    if (this.stopping) return;
    try {
      await this.api.send("DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) throw err;
    }
  }

  private async run(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid;
    const dir = join(this.options.workDir, `${pod.metadata.namespace}_${pod.metadata.name}_${uid.slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    const wake = new AbortController();
    this.wake.set(uid, wake);
    let prepared: PreparedContainer[];
    let init: typeof prepared;
    for (;;) {
      try {
        const volumes = await this.writeVolumes(pod, dir);
        const prepare = async (c: Container) => this.prepare(pod, c, volumes, dir);
        init = [];
        for (const c of pod.spec.initContainers ?? []) init.push(await prepare(c));
        prepared = [];
        for (const c of pod.spec.containers) prepared.push(await prepare(c));
        break;
      } catch (err) {
        if (!(err instanceof PodConfigError)) throw err;
        // As the kubelet does: the pod stays Pending, its containers waiting with the reason, and
        // it tries again (a Secret created after the pod is picked up).
        const problem = `${podKey(pod)}: ${err.message}`;
        if (this.problems[this.problems.length - 1] !== problem) this.problems.push(problem);
        await this.patchStatus(pod, {
          containerStatuses: pod.spec.containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "CreateContainerConfigError", message: err.message } },
          })),
        });
        await sleep(configRetryMs, wake.signal);
        if (wake.signal.aborted || this.stopping) return;
      }
    }
    const startTime = now();
    const ip = this.podIP(pod);
    for (const step of init) {
      if (wake.signal.aborted || this.stopping) return;
      const run = await this.exec(pod, step, dir).done;
      if (run.exitCode !== 0) {
        await this.finish(pod, [], `init container ${step.container.name} exited ${run.exitCode}`);
        return;
      }
    }
    const states = new Map<string, ContainerState>(
      prepared.map((step) => [
        step.container.name,
        { ready: !step.readiness, restartCount: 0, state: { running: { startedAt: startTime } } },
      ]),
    );
    let readySince = startTime;
    let wasReady: boolean | undefined;
    // The pod's status from the containers' states: Ready when every container is.
    const report = async (extra: Record<string, unknown> = {}) => {
      if (this.deleting.has(uid) || this.stopping) return;
      const ready = [...states.values()].every((c) => c.ready);
      if (ready !== wasReady) readySince = now();
      wasReady = ready;
      const status = ready ? "True" : "False";
      await this.patchStatus(pod, {
        phase: "Running",
        startTime,
        hostIP: "127.0.0.1",
        hostIPs: [{ ip: "127.0.0.1" }],
        podIP: ip,
        podIPs: [{ ip }],
        conditions: [
          { type: "Initialized", status: "True", lastTransitionTime: startTime },
          { type: "ContainersReady", status, lastTransitionTime: readySince },
          { type: "Ready", status, lastTransitionTime: readySince },
        ],
        containerStatuses: prepared.map((step) => {
          const c = states.get(step.container.name)!;
          return {
            name: step.container.name,
            image: step.container.image,
            imageID: "",
            ready: c.ready,
            started: "running" in c.state,
            restartCount: c.restartCount,
            state: c.state,
            ...(c.lastState ? { lastState: c.lastState } : {}),
          };
        }),
        ...extra,
      });
    };
    await report();
    // Deleted (or the kubelet stopped) while it was being set up: nothing is started.
    if (wake.signal.aborted || this.stopping) return;
    const policy = pod.spec.restartPolicy ?? "Always";
    const finished = await Promise.all(
      prepared.map((step) => this.supervise(pod, step, dir, policy, states.get(step.container.name)!, report, wake.signal)),
    );
    this.wake.delete(uid);
    // A deleted pod is removed by terminate(); one that ran to its end reports how it ended.
    if (!this.deleting.has(uid) && !this.stopping) await this.finish(pod, finished, undefined, states);
  }

  /** Runs one container until it ends for good: restarted as restartPolicy says, probed while it runs. */
  private async supervise(
    pod: Pod,
    step: PreparedContainer,
    dir: string,
    policy: string,
    state: ContainerState,
    report: () => Promise<void>,
    wake: AbortSignal,
  ): Promise<ContainerRun> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        state.state = { running: { startedAt: now() } };
        await report();
      }
      const { done, child, run: current } = this.exec(pod, step, dir);
      const probing = step.readiness ? this.probe(step.readiness, state, report, done) : Promise.resolve();
      const living = step.liveness ? this.liveness(pod, step, step.liveness, child, current, done) : Promise.resolve();
      const run = await done;
      await Promise.all([probing, living]);
      state.ready = false;
      const terminated = {
        exitCode: run.exitCode,
        reason: run.exitCode === 0 ? "Completed" : "Error",
        startedAt: run.startedAt,
        finishedAt: run.finishedAt,
      };
      const again = policy === "Always" || (policy === "OnFailure" && run.exitCode !== 0);
      if (!again || wake.aborted) return run;
      // Restarted after a backoff, as the kubelet does (CrashLoopBackOff while it waits).
      state.restartCount++;
      state.lastState = { terminated };
      state.state = { waiting: { reason: "CrashLoopBackOff", message: `back-off restarting ${step.container.name}` } };
      await report();
      await sleep(Math.min(1000 * 2 ** attempt, 10_000), wake);
      if (wake.aborted) return run;
    }
  }

  /** Runs a probe on its schedule while one run of a container lives (after its initial delay, every period); `onResult` returning true ends it. */
  private async onSchedule(probe: ResolvedProbe, done: Promise<ContainerRun>, onResult: (ok: boolean) => Promise<boolean>): Promise<void> {
    let exited = false;
    void done.then(() => (exited = true));
    const ended = done.then(() => undefined);
    await Promise.race([sleep(probe.initialDelayMs), ended]);
    while (!exited && !this.stopping) {
      const ok = await probeOnce(probe);
      if (exited || this.stopping || (await onResult(ok))) return;
      await Promise.race([sleep(probe.periodMs), ended]);
    }
  }

  /** The readiness probe of one run of a container, until it exits: sets `state.ready` on each threshold crossed. */
  private async probe(
    probe: ResolvedProbe,
    state: ContainerState,
    report: () => Promise<void>,
    done: Promise<ContainerRun>,
  ): Promise<void> {
    let successes = 0;
    let failures = 0;
    await this.onSchedule(probe, done, async (ok) => {
      successes = ok ? successes + 1 : 0;
      failures = ok ? 0 : failures + 1;
      if (state.ready !== ok && (ok ? successes >= probe.successThreshold : failures >= probe.failureThreshold)) {
        state.ready = ok;
        await report();
      }
      return false;
    });
  }

  /**
   * The liveness probe of one run of a container: after failureThreshold failures in a row the
   * container is killed as the kubelet kills it (its preStop sleep, SIGTERM, SIGKILL once the
   * grace period is over), and supervise() restarts it as restartPolicy says.
   */
  private async liveness(
    pod: Pod,
    step: PreparedContainer,
    probe: ResolvedProbe,
    child: ChildProcess,
    run: ContainerRun,
    done: Promise<ContainerRun>,
  ): Promise<void> {
    let failures = 0;
    await this.onSchedule(probe, done, async (ok) => {
      failures = ok ? 0 : failures + 1;
      if (failures < probe.failureThreshold) return false;
      run.killedForLiveness = true;
      run.output += `host kubelet: liveness probe failed ${failures} time(s) (${probe.url ?? `tcp ${probe.tcp!.host}:${probe.tcp!.port}`}): killing the container\n`;
      await this.stopContainers(
        [child],
        step.container.lifecycle?.preStop?.sleep?.seconds ?? 0,
        probe.terminationGraceMs ?? 1000 * (pod.spec.terminationGracePeriodSeconds ?? 30),
      );
      return true;
    });
  }

  private async finish(pod: Pod, finished: ContainerRun[], initFailure?: string, states?: Map<string, ContainerState>): Promise<void> {
    const succeeded = !initFailure && finished.every((r) => r.exitCode === 0);
    const end = now();
    await this.patchStatus(pod, {
      phase: succeeded ? "Succeeded" : "Failed",
      ...(initFailure ? { message: initFailure } : {}),
      conditions: [
        { type: "ContainersReady", status: "False", reason: "PodCompleted", lastTransitionTime: end },
        { type: "Ready", status: "False", reason: "PodCompleted", lastTransitionTime: end },
      ],
      containerStatuses: finished.map((r) => ({
        name: r.container,
        image: pod.spec.containers.find((c) => c.name === r.container)?.image ?? "",
        imageID: "",
        ready: false,
        started: false,
        restartCount: states?.get(r.container)?.restartCount ?? 0,
        state: {
          terminated: {
            exitCode: r.exitCode,
            reason: r.exitCode === 0 ? "Completed" : "Error",
            // terminationMessagePolicy FallbackToLogsOnError: the log's tail on a failure.
            ...(r.exitCode === 0 ? {} : { message: r.output.slice(-2048) }),
            startedAt: r.startedAt,
            finishedAt: r.finishedAt,
          },
        },
      })),
    });
  }

  private async patchStatus(pod: Pod, status: Record<string, unknown>): Promise<void> {
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`;
    try {
      await this.api.send("PATCH", path, { status }, "application/strategic-merge-patch+json");
    } catch (err) {
      // A pod deleted meanwhile (the Job's deadline, the analysis run's end) has no status to set.
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }

  private async object(kind: "configmaps" | "secrets", namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const found = await this.api.find<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/${kind}/${name}`);
    if (!found) return undefined;
    const data = found.data ?? {};
    if (kind === "configmaps") return data;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
  }

  private async writeVolumes(pod: Pod, dir: string): Promise<Map<string, string>> {
    const byName = new Map<string, string>();
    const write = (target: string, path: string, text: string, mode: number) => {
      const file = join(target, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      chmodSync(file, mode);
    };
    // The keys of a ConfigMap or Secret as files (all keys, or the listed items).
    const writeKeys = async (
      target: string,
      volume: string,
      kind: "configmaps" | "secrets",
      name: string,
      items: KeyPath[] | undefined,
      optional: boolean | undefined,
      mode: number,
    ) => {
      const what = `${kind === "configmaps" ? "configmap" : "secret"} "${name}"`;
      const data = await this.object(kind, pod.metadata.namespace, name);
      if (!data) {
        if (optional) return;
        throw new PodConfigError(`volume ${volume}: ${what} not found`);
      }
      for (const item of items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }))) {
        if (!(item.key in data)) throw new PodConfigError(`volume ${volume}: key "${item.key}" not in ${what}`);
        write(target, item.path, data[item.key], item.mode ?? mode);
      }
    };
    for (const volume of pod.spec.volumes ?? []) {
      const target = join(dir, "volumes", volume.name);
      mkdirSync(target, { recursive: true });
      byName.set(volume.name, target);
      if (volume.emptyDir !== undefined) {
        chmodSync(target, 0o1777); // the kubelet's emptyDir is writable by the pod's user, whoever it is
        continue;
      }
      if (volume.configMap) {
        const c = volume.configMap;
        await writeKeys(target, volume.name, "configmaps", c.name, c.items, c.optional, c.defaultMode ?? 0o644);
      } else if (volume.secret) {
        const c = volume.secret;
        await writeKeys(target, volume.name, "secrets", c.secretName, c.items, c.optional, c.defaultMode ?? 0o644);
      } else if (volume.projected) {
        const mode = volume.projected.defaultMode ?? 0o644;
        for (const source of volume.projected.sources) {
          if (source.configMap) {
            const c = source.configMap;
            await writeKeys(target, volume.name, "configmaps", c.name, c.items, c.optional, mode);
          } else if (source.secret) {
            const c = source.secret;
            await writeKeys(target, volume.name, "secrets", c.name, c.items, c.optional, mode);
          } else if (source.downwardAPI) {
            for (const item of source.downwardAPI.items) {
              if (!item.fieldRef) throw new PodConfigError(`volume ${volume.name}: only fieldRef items of downwardAPI are supported`);
              write(target, item.path, podField(pod, item.fieldRef.fieldPath, this.podIP(pod)), mode);
            }
          } else if (source.serviceAccountToken) {
            // As the kubelet does: a TokenRequest for the pod's service account, bound to the pod.
            const t = source.serviceAccountToken;
            const account = pod.spec.serviceAccountName ?? "default";
            const answer = await this.api.send<{ status: { token: string } }>(
              "POST",
              `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${account}/token`,
              {
                apiVersion: "authentication.k8s.io/v1",
                kind: "TokenRequest",
                spec: {
                  audiences: t.audience ? [t.audience] : null,
                  expirationSeconds: t.expirationSeconds ?? 3607,
                  boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
                },
              },
            );
            write(target, t.path, answer.status.token, 0o600);
          } else
            throw new PodConfigError(
              `volume ${volume.name}: a projected source other than configMap, secret, downwardAPI, serviceAccountToken`,
            );
        }
      } else
        throw new PodConfigError(
          `volume ${volume.name}: only configMap, secret, projected and emptyDir volumes are supported by the host kubelet`,
        );
    }
    return byName;
  }

  private async prepare(pod: Pod, container: Container, volumes: Map<string, string>, dir: string) {
    const where = `container ${container.name}`;
    const env: Record<string, string> = {};
    const ref = async (kind: "configmaps" | "secrets", name: string, key: string | undefined, optional: boolean | undefined) => {
      const data = await this.object(kind, pod.metadata.namespace, name);
      const what = `${kind === "configmaps" ? "configmap" : "secret"} "${name}"`;
      if (!data) return optional ? undefined : Promise.reject(new PodConfigError(`${where}: ${what} not found`));
      if (key === undefined) return data;
      if (!(key in data)) return optional ? undefined : Promise.reject(new PodConfigError(`${where}: couldn't find key ${key} in ${what}`));
      return { [key]: data[key] };
    };
    for (const from of container.envFrom ?? []) {
      const source = from.configMapRef
        ? await ref("configmaps", from.configMapRef.name, undefined, from.configMapRef.optional)
        : from.secretRef
          ? await ref("secrets", from.secretRef.name, undefined, from.secretRef.optional)
          : undefined;
      for (const [k, v] of Object.entries(source ?? {})) env[`${from.prefix ?? ""}${k}`] = v;
    }
    for (const e of container.env ?? []) {
      const from = e.valueFrom;
      if (!from) env[e.name] = expandVars(e.value ?? "", env);
      else if (from.configMapKeyRef) {
        const { name, key, optional } = from.configMapKeyRef;
        const v = await ref("configmaps", name, key, optional);
        if (v) env[e.name] = v[key];
      } else if (from.secretKeyRef) {
        const { name, key, optional } = from.secretKeyRef;
        const v = await ref("secrets", name, key, optional);
        if (v) env[e.name] = v[key];
      } else if (from.fieldRef) env[e.name] = podField(pod, from.fieldRef.fieldPath, this.podIP(pod));
      else throw new PodConfigError(`${where}: env ${e.name}: only value, configMapKeyRef, secretKeyRef and fieldRef are supported`);
    }
    const mounts = (container.volumeMounts ?? []).map((m) => {
      const volumeDir = volumes.get(m.name);
      if (!volumeDir)
        throw new PodConfigError(`${where}: volumeMount ${m.mountPath} names volume "${m.name}", which the pod does not have`);
      return { mountPath: m.mountPath, hostDir: m.subPath ? join(volumeDir, m.subPath) : volumeDir };
    });
    // Service URLs this kubelet's own pods serve go to a ready one of them (cluster DNS and the
    // Service, as kube-proxy would route them); the rest as `addresses` says.
    const named = [...Object.values(env), ...(container.command ?? []), ...(container.args ?? [])];
    const addresses = { ...this.options.addresses, ...(await this.serviceAddresses(named)) };
    const route = (text: string) => routeAddresses(text, addresses);
    for (const [k, v] of Object.entries(env)) env[k] = route(v);
    const image = this.options.images?.[imageRepository(container.image)];
    // "Every address of the pod" is its one address here (the image's ENV too, unless the pod sets the name).
    const ip = this.podIP(pod);
    for (const [k, v] of Object.entries({ ...image?.env, ...env })) if (v === wildcardAddress) env[k] = ip;
    const readiness = container.readinessProbe ? resolveProbe(container, container.readinessProbe, ip) : undefined;
    const liveness = container.livenessProbe ? resolveProbe(container, container.livenessProbe, ip, "livenessProbe") : undefined;
    if (image) {
      // Inside the project's image: its paths are real, the volumes are bound where they are mounted.
      const words = [...(container.command ?? image.cmd), ...(container.args ?? [])].map((w) => route(expandVars(w, env)));
      const volumeDirs = Object.fromEntries(mounts.map((m) => [m.mountPath, m.hostDir]));
      return { container, argv: words, env, cwd: container.workingDir, image, volumes: volumeDirs, readiness, liveness };
    }
    const command = container.command ?? this.options.entrypoints?.[container.image];
    if (!command || command.length === 0)
      throw new PodConfigError(`${where}: no command, and the entry point of image ${container.image} is not known to the host kubelet`);
    const words = [...command, ...(container.args ?? [])].map((w) => hostPath(route(expandVars(w, env)), mounts));
    const programs = this.options.programs ?? { node: process.execPath };
    const program = programs[words[0]] ?? words[0];
    if (isAbsolute(words[0]) && program === words[0] && !mounts.some((m) => words[0].startsWith(m.hostDir)))
      throw new PodConfigError(`${where}: ${words[0]} is a path inside the image, which the host kubelet does not have`);
    const cwd = container.workingDir ? hostPath(container.workingDir, mounts) : dir;
    if (container.workingDir && cwd === container.workingDir)
      throw new PodConfigError(`${where}: workingDir ${cwd} is inside the image, which the host kubelet does not have`);
    return { container, argv: [program, ...words.slice(1)], env, cwd, readiness, liveness };
  }

  /**
   * For each `http://<service>.<namespace>.svc[.cluster.local][:port]` in these strings whose
   * Service selects a ready pod this kubelet runs: that URL's origin → the pod's address and the
   * Service port's targetPort. A Service with no such pod is left to `addresses`.
   */
  private async serviceAddresses(texts: string[]): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    for (const text of texts)
      for (const m of text.matchAll(/\bhttp:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?/g)) {
        if (m[0] in found) continue;
        const target = await this.readyEndpoint(m[2], m[1], Number(m[3] ?? 80));
        if (target) found[m[0]] = target;
      }
    return found;
  }

  private async readyEndpoint(namespace: string, name: string, port: number): Promise<string | undefined> {
    const service = await this.api.find<{
      spec: { selector?: Record<string, string>; ports?: Array<{ port: number; targetPort?: number | string }> };
    }>(`/api/v1/namespaces/${namespace}/services/${name}`);
    const servicePort = service?.spec.ports?.find((p) => p.port === port);
    if (!service?.spec.selector || !servicePort) return undefined;
    const selector = Object.entries(service.spec.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const pods = await this.api.get<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
    const pod = pods.items.find(
      (p) =>
        !p.metadata.deletionTimestamp &&
        this.addresses.has(p.metadata.uid) &&
        (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false),
    );
    if (!pod) return undefined;
    const target = servicePort.targetPort ?? servicePort.port;
    const containerPort =
      typeof target === "number" || /^\d+$/.test(target)
        ? Number(target)
        : pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target)?.containerPort;
    return containerPort === undefined ? undefined : `http://${this.addresses.get(pod.metadata.uid)}:${containerPort}`;
  }

  private exec(pod: Pod, step: PreparedContainer, dir: string) {
    const run: ContainerRun = {
      pod: podKey(pod),
      container: step.container.name,
      argv: step.argv,
      env: step.env,
      startedAt: now(),
      output: "",
    };
    this.runs.push(run);
    const log = createWriteStream(join(dir, `${step.container.name}.log`));
    // Only the pod's own environment (plus the host's PATH and a HOME, or the image's ENV), as a container would have.
    const child = step.image
      ? step.image.spawn(step.argv, { env: step.env, volumes: step.volumes ?? {}, cwd: step.cwd })
      : spawn(step.argv[0], step.argv.slice(1), {
          cwd: step.cwd,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...step.env },
          stdio: ["ignore", "pipe", "pipe"],
        });
    const list = this.processes.get(pod.metadata.uid) ?? [];
    list.push(child);
    this.processes.set(pod.metadata.uid, list);
    const collect = (chunk: Buffer) => {
      run.output = (run.output + chunk.toString("utf8")).slice(-64 * 1024);
      log.write(chunk);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const done = new Promise<ContainerRun>((resolve) => {
      const done = (code: number) => {
        if (run.exitCode !== undefined) return;
        run.exitCode = code;
        run.finishedAt = now();
        log.end();
        resolve(run);
      };
      child.on("error", (err) => {
        collect(Buffer.from(`host kubelet: ${err.message}\n`));
        done(127);
      });
      // A signal ends a container with 128 + its number, as a container runtime reports it.
      child.on("close", (code, signal) => done(code ?? 128 + (signal === "SIGKILL" ? 9 : 15)));
    });
    return { done, child, run };
  }
}
