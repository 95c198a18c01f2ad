// The host-process kubelet: kwok's pods run nothing, so for the pods whose outcome matters (the
// analysis Job's SLO gate, the project's own Jobs in verify:ga --local-cluster) this plays the
// kubelet on the host. It watches the local API server for pods with one label (the control plane
// started with the same `hostProcessLabel`, so kwok's pod stages skip them), runs each container's
// command and args with its environment (valueFrom ConfigMaps, Secrets and fields resolved;
// ConfigMap, Secret and emptyDir volumes written to a folder per pod), and sets the pod's status
// from the result: phase, and each container's state with its exit code. See docs/cluster.md.
//
// A container of one of the project's own images (`images`) runs inside that image as built by
// harness/dockerfile.ts (its files, ENV, WORKDIR and USER, read-only root, volumes bound at their
// mountPaths). Any other container runs with the host's programs (`node` is this Node), and a path
// under a volume's mountPath in its command, args or workingDir is rewritten to that volume's
// folder on the host. Addresses the pod names (Service DNS, external hosts) are routed to where
// they are on this host (`addresses`). What it is not: no pulls, no probes, no restarts.
import { spawn, type ChildProcess } from "node:child_process";
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
  readinessProbe?: unknown;
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
  };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string; podIP?: string; hostIP?: string };
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
}

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
function podField(pod: Pod, fieldPath: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation) return pod.metadata[labelOrAnnotation[1] as "labels" | "annotations"]?.[labelOrAnnotation[2]] ?? "";
  const fields: Record<string, string | undefined> = {
    "metadata.name": pod.metadata.name,
    "metadata.namespace": pod.metadata.namespace,
    "metadata.uid": pod.metadata.uid,
    "spec.nodeName": pod.spec.nodeName,
    "spec.serviceAccountName": pod.spec.serviceAccountName,
    "status.hostIP": "127.0.0.1",
    "status.podIP": "127.0.0.1",
  };
  if (!(fieldPath in fields)) throw new PodConfigError(`fieldRef ${fieldPath} is not supported by the host kubelet`);
  return fields[fieldPath] ?? "";
}

export class HostKubelet {
  private readonly api: KubeApi;
  private readonly started = new Set<string>();
  private readonly processes = new Map<string, ChildProcess[]>();
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
    kubelet.stopWatch = kubelet.api.watch<Pod>(
      `/api/v1/pods?labelSelector=${selector}`,
      (event) => kubelet.track(kubelet.handle(event.type, event.object)),
      (err) => kubelet.problems.push(`watch: ${err.message}`),
    );
    return kubelet;
  }

  /** The runs of one pod's containers (namespace/name). */
  runsOf(namespace: string, name: string): ContainerRun[] {
    return this.runs.filter((r) => r.pod === `${namespace}/${name}`);
  }

  /** Stops watching and kills what still runs (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    this.stopWatch?.();
    for (const list of this.processes.values()) for (const p of list) p.kill("SIGTERM");
    const deadline = Date.now() + 2000;
    while ([...this.processes.values()].some((l) => l.some((p) => p.exitCode === null && p.signalCode === null)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    for (const list of this.processes.values()) for (const p of list) if (p.exitCode === null) p.kill("SIGKILL");
    await Promise.allSettled([...this.pending]);
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err: Error) => void this.problems.push(err.message)).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async handle(type: string, pod: Pod): Promise<void> {
    const uid = pod.metadata.uid;
    if (type === "DELETED" || pod.metadata.deletionTimestamp) {
      for (const p of this.processes.get(uid) ?? []) if (p.exitCode === null) p.kill("SIGTERM");
      return;
    }
    const phase = pod.status?.phase ?? "Pending";
    if (!pod.spec.nodeName || phase !== "Pending" || this.started.has(uid)) return;
    this.started.add(uid);
    await this.run(pod);
  }

  private async run(pod: Pod): Promise<void> {
    const dir = join(this.options.workDir, `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid.slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    let prepared: PreparedContainer[];
    let init: typeof prepared;
    try {
      const volumes = await this.writeVolumes(pod, dir);
      const prepare = async (c: Container) => this.prepare(pod, c, volumes, dir);
      init = [];
      for (const c of pod.spec.initContainers ?? []) init.push(await prepare(c));
      prepared = [];
      for (const c of pod.spec.containers) prepared.push(await prepare(c));
    } catch (err) {
      if (!(err instanceof PodConfigError)) throw err;
      // As the kubelet does: the pod stays Pending, its containers waiting with the reason.
      this.problems.push(`${podKey(pod)}: ${err.message}`);
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
      return;
    }
    const startTime = now();
    for (const step of init) {
      const run = await this.exec(pod, step, dir);
      if (run.exitCode !== 0) {
        await this.finish(pod, startTime, [], `init container ${step.container.name} exited ${run.exitCode}`);
        return;
      }
    }
    const runs = prepared.map((step) => ({ step, done: this.exec(pod, step, dir) }));
    const running = runs.map(({ step }) => ({
      name: step.container.name,
      image: step.container.image,
      imageID: "",
      ready: !step.container.readinessProbe,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: startTime } },
    }));
    const ready = running.every((c) => c.ready) ? "True" : "False";
    await this.patchStatus(pod, {
      phase: "Running",
      startTime,
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      conditions: [
        { type: "Initialized", status: "True", lastTransitionTime: startTime },
        { type: "ContainersReady", status: ready, lastTransitionTime: startTime },
        { type: "Ready", status: ready, lastTransitionTime: startTime },
      ],
      containerStatuses: running,
    });
    const finished = await Promise.all(runs.map((r) => r.done));
    await this.finish(pod, startTime, finished);
  }

  private async finish(pod: Pod, startTime: string, finished: ContainerRun[], initFailure?: string): Promise<void> {
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
        restartCount: 0,
        state: {
          terminated: {
            exitCode: r.exitCode,
            reason: r.exitCode === 0 ? "Completed" : "Error",
            // terminationMessagePolicy FallbackToLogsOnError: the log's tail on a failure.
            ...(r.exitCode === 0 ? {} : { message: r.output.slice(-2048) }),
            startedAt: startTime,
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
              write(target, item.path, podField(pod, item.fieldRef.fieldPath), mode);
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
      } else if (from.fieldRef) env[e.name] = podField(pod, from.fieldRef.fieldPath);
      else throw new PodConfigError(`${where}: env ${e.name}: only value, configMapKeyRef, secretKeyRef and fieldRef are supported`);
    }
    const mounts = (container.volumeMounts ?? []).map((m) => {
      const volumeDir = volumes.get(m.name);
      if (!volumeDir)
        throw new PodConfigError(`${where}: volumeMount ${m.mountPath} names volume "${m.name}", which the pod does not have`);
      return { mountPath: m.mountPath, hostDir: m.subPath ? join(volumeDir, m.subPath) : volumeDir };
    });
    const route = (text: string) => routeAddresses(text, this.options.addresses);
    for (const [k, v] of Object.entries(env)) env[k] = route(v);
    const image = this.options.images?.[imageRepository(container.image)];
    if (image) {
      // Inside the project's image: its paths are real, the volumes are bound where they are mounted.
      const words = [...(container.command ?? image.cmd), ...(container.args ?? [])].map((w) => route(expandVars(w, env)));
      const volumeDirs = Object.fromEntries(mounts.map((m) => [m.mountPath, m.hostDir]));
      return { container, argv: words, env, cwd: container.workingDir, image, volumes: volumeDirs };
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
    return { container, argv: [program, ...words.slice(1)], env, cwd };
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
    return new Promise<ContainerRun>((resolve) => {
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
  }
}
