// A local Kubernetes control plane on loopback: etcd, kube-apiserver (Node,RBAC), the
// controller-manager, the scheduler and kwok playing one fake node, plus a hostPath
// PersistentVolume so a StatefulSet's claim binds. One module, used by `npm run cluster:up`,
// the cluster test suites and (later) `verify:ga --cluster`. See docs/cluster.md.
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { parseDocument, stringify } from "yaml";
import { freePort, WaitAbandoned, waitFor } from "../../lib/net";
import { clientIdentities, ensurePki, kubeconfigFor, type Pki } from "./pki";
import { MaestroError } from "../../lib/errors";

/** The project-local tools folder (tools/install/tools.sh cluster installs the binaries). */
export const toolsDir = resolve(__dirname, "../../.tools");
/** Where `npm run cluster:up` keeps its state and kubeconfig (git-ignored). */
export const defaultClusterDir = resolve(__dirname, "../../.cluster");

export const controlPlaneBinaries = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"] as const;

/** The fake node kwok manages; pods schedule onto it and go Running (Job pods: Succeeded). */
export const fakeNodeName = "kwok-node-0";
/** The hostPath PersistentVolume offered to the StatefulSet's claim (no provisioner here). */
export const localVolume = { name: "local-pv-0", capacity: "50Gi" };

/** The first control-plane binary missing from .tools/bin, or undefined when all are there. */
export function missingBinary(): string | undefined {
  const missing = controlPlaneBinaries.find((b) => !existsSync(join(toolsDir, "bin", b)));
  return missing ? `${missing} (tools/install/tools.sh cluster)` : undefined;
}

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

const portComponents = ["etcdClient", "etcdPeer", "apiserver", "controllerManager", "scheduler", "kwok"] as const satisfies ReadonlyArray<
  keyof Ports
>;

/** What is written to <dir>/state.json: enough for `cluster:down` and for another process to attach. */
export interface ClusterState {
  dir: string;
  server: string;
  kubeconfig: string;
  ports: Ports;
  pids: Record<string, number>;
  /** Pods with this label are left alone by kwok's pod stages: the host-process kubelet's pods. */
  hostProcessLabel?: PodLabel;
}

export interface StartOptions {
  /** State folder; the PKI and etcd data live here. Default: .cluster/ in the project. */
  dir?: string;
  /** Readiness deadline for the whole start, ms (default 60 s; warm starts take a few seconds). */
  timeoutMs?: number;
  /**
   * Pods with this label are not touched by kwok's Running/Succeeded stages (they stay Pending
   * until someone sets their status): the host-process kubelet (host-kubelet.ts) runs them.
   * @default none (kwok plays every pod)
   */
  hostProcessLabel?: PodLabel;
  /** Where each component's port comes from (default `freePort`); a test hands one a taken port. */
  pickPort?: (component: keyof Ports) => Promise<number>;
}

/** Pods by one label: `name in (values)`. */
export interface PodLabel {
  name: string;
  values: readonly string[];
}

/** The label selector `name in (v1,v2)` for the API's `labelSelector`. */
export const podLabelSelector = (label: PodLabel) => `${label.name} in (${label.values.join(",")})`;

/** A running control plane. */
export class ControlPlane {
  /** How each component this process started has exited (`exit code 1`, `signal SIGKILL`), by name. */
  readonly exits = new Map<string, string>();

  constructor(
    readonly state: ClusterState,
    private readonly pki: Pki,
  ) {}

  /** For a readiness wait: true while the component runs; a WaitAbandoned, with how it exited, once it has not. */
  serving(name: string): true {
    const how = this.exits.get(name);
    if (how) throw new WaitAbandoned(`${name} exited (${how})`);
    return true;
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  /** Runs the pinned kubectl against this control plane; rejects with a KubectlError on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<string> {
    return runKubectl(this.state.kubeconfig, args, input);
  }

  /** `kubectl auth can-i ...` against this control plane (see `canI`). */
  canI(args: string[]): Promise<boolean> {
    return canI((a) => this.kubectl(a), args);
  }

  /** GET against the API server as the admin, the body as text. */
  get(path: string): Promise<{ status: number; body: string }> {
    return adminRequest(this.pki, this.state.server, path);
  }

  /** Server-side apply of one object as the admin (field manager maestro-harness), at its path; rejects unless 2xx. */
  async applyObject(path: string, object: unknown): Promise<void> {
    const send = { method: "PATCH", body: JSON.stringify(object), contentType: "application/apply-patch+yaml" };
    const res = await adminRequest(this.pki, this.state.server, `${path}?fieldManager=maestro-harness&force=true`, send);
    if (res.status < 200 || res.status > 299) throw new Error(`apply ${path}: ${res.status} ${res.body.slice(0, 300)}`);
  }

  /** The admin's client certificate, key and the cluster CA, for clients other than kubectl. */
  adminTls(): { ca: Buffer; cert: Buffer; key: Buffer } {
    const { cert, key } = this.pki.client(clientIdentities.admin);
    return { ca: readFileSync(this.pki.caCert), cert: readFileSync(cert), key: readFileSync(key) };
  }

  /**
   * Starts one more component from .tools/bin (e.g. the Argo Rollouts controller), logging to
   * <dir>/logs/<name>.log; its pid joins the state, so `stop()` and `cluster:down` stop it too.
   */
  startComponent(name: string, args: string[]): number {
    this.exits.delete(name);
    startProcess(this.state.dir, name, args, this.state.pids, this.exits);
    writeFileSync(join(this.state.dir, "state.json"), JSON.stringify(this.state, null, 2) + "\n");
    return this.state.pids[name];
  }

  /** Stops one component started by `startComponent` (by its pid) and forgets it. */
  async stopComponent(name: string): Promise<void> {
    const pid = this.state.pids[name];
    if (pid === undefined) return;
    await stopPids({ [name]: pid });
    delete this.state.pids[name];
    writeFileSync(join(this.state.dir, "state.json"), JSON.stringify(this.state, null, 2) + "\n");
  }

  /** Stops every process it started (by pid) and, when `removeState`, deletes its folder. */
  async stop(removeState = false): Promise<void> {
    await stopPids(this.state.pids);
    if (removeState) rmSync(this.state.dir, { recursive: true, force: true });
  }
}

/** A kubectl run that exited non-zero; `auth can-i` answers "no" this way (exit 1, stdout "no"). */
export class KubectlError extends MaestroError<"KUBECTL_FAILED"> {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super("KUBECTL_FAILED", `kubectl ${args.join(" ")}: exit ${exitCode}: ${stderr.trim() || stdout.trim()}`);
  }
}

/** A kubectl bound to one API server: the arguments after `kubectl`, stdin; rejects with a KubectlError. */
export type Kubectl = (args: string[], input?: string) => Promise<string>;

/** `kubectl auth can-i ...`: true for "yes", false for "no", an error for anything else. */
export async function canI(kubectl: Kubectl, args: string[]): Promise<boolean> {
  try {
    return (await kubectl(["auth", "can-i", ...args])).trim() === "yes";
  } catch (err) {
    if (err instanceof KubectlError && err.exitCode === 1 && err.stdout.trim() === "no") return false;
    throw err;
  }
}

/** The pinned kubectl with a kubeconfig and, optionally, one of its contexts (any cluster, not only the local one). */
export function kubectlFor(kubeconfig: string | undefined, context?: string): Kubectl {
  return (args, input) => runKubectl(kubeconfig, context ? ["--context", context, ...args] : args, input);
}

// Without a kubeconfig, kubectl's own: $KUBECONFIG, else ~/.kube/config.
function runKubectl(kubeconfig: string | undefined, args: string[], input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      join(toolsDir, "bin", "kubectl"),
      [...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new KubectlError(args, typeof err.code === "number" ? err.code : null, stdout, stderr));
        else resolvePromise(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

function adminRequest(
  pki: Pki,
  server: string,
  path: string,
  send?: { method: string; body: string; contentType: string },
): Promise<{ status: number; body: string }> {
  const { cert, key } = pki.client(clientIdentities.admin);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      new URL(path, server),
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(cert),
        key: readFileSync(key),
        timeout: 2000,
        ...(send ? { method: send.method, headers: { "content-type": send.contentType } } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${send?.method ?? "GET"} ${path}: timed out`)));
    req.on("error", reject);
    req.end(send?.body);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Pids being stopped on purpose: their non-zero exit on SIGTERM is not worth a warning.
const stopping = new Set<number>();

async function stopPids(pids: Record<string, number>): Promise<void> {
  // Reverse start order: kwok and the controllers first, etcd last.
  const order = Object.entries(pids).reverse();
  for (const [, pid] of order) stopping.add(pid);
  for (const [, pid] of order) if (alive(pid)) process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (order.some(([, pid]) => alive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const [, pid] of order) if (alive(pid)) process.kill(pid, "SIGKILL");
}

/**
 * Spawns one component (detached, logging to <dir>/logs/<name>.log) and records how it exits in
 * `exited`. An unexpected non-zero exit is a warning, except while `quiet()` holds: during a start,
 * whose own error (or port-clash warning) already says which component exited and why.
 */
function startProcess(
  dir: string,
  name: string,
  args: string[],
  pids: Record<string, number>,
  exited: Map<string, string>,
  quiet: () => boolean = () => false,
): void {
  const log = openSync(join(dir, "logs", `${name}.log`), "a");
  const child = spawn(join(toolsDir, "bin", name), args, { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new Error(`cluster: could not start ${name}`);
  pids[name] = child.pid;
  child.on("exit", (code, signal) => {
    exited.set(name, signal === null ? `exit code ${code}` : `signal ${signal}`);
    if (code !== 0 && signal === null && !stopping.has(child.pid ?? -1) && !quiet())
      process.emitWarning(`cluster: ${name} exited with ${code} (see ${join(dir, "logs", `${name}.log`)})`);
  });
}

function logTail(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, "logs", `${name}.log`), "utf8")
      .split("\n")
      .slice(-15)
      .join("\n");
  } catch {
    return "(no log)";
  }
}

// Readiness of a component's own HTTPS health endpoint (self-signed: its address is loopback).
function healthz(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on("error", () => resolvePromise(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * kwok's stages, with the pod stages that make a pod Running or Succeeded narrowed so that they
 * skip pods with `hostLabel` (the host-process kubelet sets those pods' status itself).
 */
export function kwokStageConfig(dir: string, hostLabel?: PodLabel): string {
  const stagesDir = join(toolsDir, "share", "kwok-stages");
  const files = existsSync(stagesDir) ? readdirSync(stagesDir).filter((f) => f.endsWith(".yaml")) : [];
  if (files.length === 0) throw new Error(`cluster: no kwok stages in ${stagesDir} (run tools/install/tools.sh cluster)`);
  const stages = files.map((f) => {
    const stage = parseDocument(readFileSync(join(stagesDir, f), "utf8")).toJS() as KwokStage;
    // Every pod stage, pod-delete too: the host kubelet stops a deleted pod's processes (preStop,
    // SIGTERM, its grace period) before it removes the pod, as a kubelet does.
    if (hostLabel && stage.spec.resourceRef.kind === "Pod") {
      // A missing label matches NotIn in kwok's selectors: every other pod stays kwok's.
      const key = `.metadata.labels.${JSON.stringify(hostLabel.name)}`;
      stage.spec.selector.matchExpressions.push({ key, operator: "NotIn", values: [...hostLabel.values] });
    }
    return stringify(stage);
  });
  const target = join(dir, "kwok-stages.yaml");
  writeFileSync(target, stages.join("\n---\n"));
  return target;
}

interface KwokStage {
  spec: {
    resourceRef: { kind: string };
    selector: { matchExpressions: Array<{ key: string; operator: string; values?: string[] }> };
  };
}

/** Objects the harness itself creates, by API path: the fake node and the hostPath volume. */
function harnessObjects(dir: string): Record<string, unknown> {
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: fakeNodeName,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: { "kubernetes.io/hostname": fakeNodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
    },
    status: { allocatable: { cpu: "32", memory: "256Gi", pods: "110" }, capacity: { cpu: "32", memory: "256Gi", pods: "110" } },
  };
  const volume = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: localVolume.name, labels: { "maestro.io/harness": "cluster" } },
    spec: {
      capacity: { storage: localVolume.capacity },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: join(dir, "volumes", localVolume.name), type: "DirectoryOrCreate" },
    },
  };
  return { [`/api/v1/nodes/${fakeNodeName}`]: node, [`/api/v1/persistentvolumes/${localVolume.name}`]: volume };
}

/**
 * Controllers of kube-controller-manager left off: no quotas, autoscalers, DaemonSets or
 * ReplicationControllers in any stack, no volumes to attach, expand or claim (the one volume is
 * hostPath), no CSRs (the harness signs every certificate itself), no external Endpoints to mirror.
 */
export const unusedControllers = [
  "resourcequota-controller",
  "horizontal-pod-autoscaler-controller",
  "daemonset-controller",
  "replicationcontroller-controller",
  "ephemeral-volume-controller",
  "persistentvolume-attach-detach-controller",
  "persistentvolume-expander-controller",
  "resourceclaim-controller",
  "certificatesigningrequest-approving-controller",
  "certificatesigningrequest-cleaner-controller",
  "endpointslice-mirroring-controller",
];

/** Starts the control plane and resolves once the API server, controllers, scheduler and node are ready. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const missing = missingBinary();
  if (missing) throw new Error(`cluster: missing ${missing}`);
  const dir = resolve(options.dir ?? defaultClusterDir);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dir, options, deadline);
    } catch (err) {
      // A port taken between its pick and the component's bind (another process on the machine won
      // the race): start again on new ports, from an empty store. Any other failure is final.
      const clash = err instanceof PortClash ? err : undefined;
      if (!clash || attempt >= 3) throw err instanceof PortClash ? err.cause : err;
      process.emitWarning(`cluster: ${clash.component} could not bind its port (another process took it); starting again on new ports`);
    }
  }
}

/** A start that failed because a component found its port taken: the only failure worth a retry. */
class PortClash extends Error {
  constructor(
    readonly component: string,
    readonly cause: Error,
  ) {
    super(cause.message);
  }
}

async function startOnce(dir: string, options: StartOptions, deadline: number): Promise<ControlPlane> {
  const left = () => Math.max(1000, deadline - Date.now());
  for (const sub of ["logs", "volumes"]) mkdirSync(join(dir, sub), { recursive: true });
  rmSync(join(dir, "etcd"), { recursive: true, force: true });
  for (const name of controlPlaneBinaries) rmSync(join(dir, "logs", `${name}.log`), { force: true });
  mkdirSync(join(dir, "etcd"), { recursive: true, mode: 0o700 });
  const pki = ensurePki(join(dir, "pki"));

  const pick = options.pickPort ?? (() => freePort());
  const ports = {} as Ports;
  for (const component of portComponents) ports[component] = await pick(component);
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfigs: Record<keyof typeof clientIdentities, string> = {
    admin: join(dir, "kubeconfig"),
    controllerManager: join(dir, "pki", "controller-manager.kubeconfig"),
    scheduler: join(dir, "pki", "scheduler.kubeconfig"),
    kwok: join(dir, "pki", "kwok.kubeconfig"),
  };
  for (const [who, file] of Object.entries(kubeconfigs)) {
    writeFileSync(file, kubeconfigFor(pki, server, clientIdentities[who as keyof typeof clientIdentities]), { mode: 0o600 });
  }
  const hostProcessLabel = options.hostProcessLabel;
  const state: ClusterState = { dir, server, kubeconfig: kubeconfigs.admin, ports, pids: {}, hostProcessLabel };
  const cluster = new ControlPlane(state, pki);
  const saveState = () => writeFileSync(join(dir, "state.json"), JSON.stringify(state, null, 2) + "\n");

  // A component that exits while it is awaited ends the wait at once, with its reason; during the
  // start that is said by the start's error (or the port-clash warning), not also by a warning.
  const exited = cluster.exits;
  let started = false;
  const launch = (name: string, args: string[]) => startProcess(dir, name, args, state.pids, exited, () => !started);
  const serving = (name: string) => cluster.serving(name);
  try {
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    launch("etcd", [
      "--name=maestro-local",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=maestro-local=http://127.0.0.1:${ports.etcdPeer}`,
      "--listen-metrics-urls=",
      "--log-level=warn",
      // A throw-away store: fsync on every write only slows the tests.
      "--unsafe-no-fsync",
    ]);
    saveState();
    await waitFor(
      "etcd /health",
      async () =>
        serving("etcd") && (await fetch(`${etcdUrl}/health`).then((r) => r.json() as Promise<{ health?: string }>)).health === "true",
      left(),
    );
    launch("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${join(dir, "pki")}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--authorization-mode=Node,RBAC",
      "--anonymous-auth=false",
      // Loopback only: no Service address is ever contacted, and no endpoints are reconciled.
      "--service-cluster-ip-range=10.0.0.0/24",
      "--endpoint-reconciler-type=none",
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--profiling=false",
      "--v=0",
    ]);
    saveState();
    await waitFor(
      "kube-apiserver /readyz",
      async () => serving("kube-apiserver") && (await cluster.get("/readyz")).status === 200,
      left(),
      200,
    );

    // What kube-controller-manager and kube-scheduler share: who they are, and /healthz on loopback TLS.
    const componentFlags = (kubeconfig: string, port: number) => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, "pki")}`,
      "--leader-elect=false",
      "--profiling=false",
    ];
    launch("kube-controller-manager", [
      ...componentFlags(kubeconfigs.controllerManager, ports.controllerManager),
      "--use-service-account-credentials=true",
      // Controllers for what this loopback cluster has: the rest cost start-up time (resource
      // quotas alone discover and watch every resource) and would manage nothing here.
      `--controllers=${["*", ...unusedControllers.map((c) => `-${c}`)].join(",")}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
    ]);
    launch("kube-scheduler", componentFlags(kubeconfigs.scheduler, ports.scheduler));
    launch("kwok", [
      `--kubeconfig=${kubeconfigs.kwok}`,
      `--config=${kwokStageConfig(dir, hostProcessLabel)}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${ports.kwok}`,
      "--node-ip=127.0.0.1",
      // kwok renews the node's Lease (the node monitor's heartbeat): the node stays Ready.
      "--node-lease-duration-seconds=40",
    ]);
    saveState();

    for (const [path, object] of Object.entries(harnessObjects(dir))) await cluster.applyObject(path, object);
    await Promise.all([
      waitFor(
        "kube-controller-manager /healthz",
        async () => serving("kube-controller-manager") && healthz(ports.controllerManager),
        left(),
        200,
      ),
      waitFor("kube-scheduler /healthz", async () => serving("kube-scheduler") && healthz(ports.scheduler), left(), 200),
      waitFor(
        `node ${fakeNodeName} Ready (kwok)`,
        async () => {
          serving("kwok");
          const res = await cluster.get(`/api/v1/nodes/${fakeNodeName}`);
          const node = JSON.parse(res.body) as { status?: { conditions?: Array<{ type: string; status: string }> } };
          return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
        },
        left(),
        200,
      ),
      // The service-account controller has run: namespaces get their `default` ServiceAccount.
      waitFor(
        "default ServiceAccount (controller-manager)",
        async () => (await cluster.get("/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
        left(),
        200,
      ),
    ]);
  } catch (err) {
    const logs = Object.keys(state.pids)
      .map((name) => `--- ${name} ---\n${logTail(dir, name)}`)
      .join("\n");
    await cluster.stop();
    const failure = new Error(`cluster: start failed: ${(err as Error).message}\n${logs}`);
    const clashed = [...exited.keys()].find((name) => /address already in use/.test(logTail(dir, name)));
    throw clashed ? new PortClash(clashed, failure) : failure;
  }
  started = true;
  return cluster;
}

/** The state of a control plane started by another process (`cluster:up`), if it is running. */
export function readClusterState(dir = defaultClusterDir): ClusterState | undefined {
  const file = join(dir, "state.json");
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as ClusterState;
  return Object.values(state.pids).some(alive) ? state : undefined;
}

/** A handle on a control plane started by another process (its PKI is in the state folder). */
export function attachControlPlane(state: ClusterState): ControlPlane {
  return new ControlPlane(state, ensurePki(join(state.dir, "pki")));
}

/** Stops a control plane started by another process and removes its state. */
export async function stopClusterAt(dir = defaultClusterDir): Promise<boolean> {
  const file = join(dir, "state.json");
  if (!existsSync(file)) return false;
  const state = JSON.parse(readFileSync(file, "utf8")) as ClusterState;
  await stopPids(state.pids);
  rmSync(dir, { recursive: true, force: true });
  return true;
}
