import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, dirname, join, posix } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { findBinary } from "./binaries";

// A Dockerfile, built and run without a container engine: dockerfile-ast reads it, each stage is a
// scratch directory holding the paths the stage writes (its WORKDIR, VOLUME and absolute COPY
// targets), RUN executes in bubblewrap with the host's /usr and /etc read-only underneath (the
// host's Debian, and the Node running this harness bound at /usr/local/bin, stand in for the base
// image node:<major>-bookworm-slim), COPY copies from the build context or an earlier stage. The
// last stage runs its CMD as its USER on a read-only root where only its VOLUMEs are writable:
// what `docker run --read-only` with those volumes does.

export const bwrapPath = findBinary("bwrap");
export const setprivPath = findBinary("setpriv");

export interface ImageBuildOptions {
  dockerfile: string;
  /** The build context (the checkout). */
  context: string;
  /** Files the release adds to the context before the build (e.g. release/policy-verdicts.json). */
  contextExtras?: string;
  /** Scratch directory for the stages' roots. */
  workDir: string;
  /**
   * A RUN this harness does not execute, and the bind mount that stands in for its result, e.g. the
   * build stage's `npm ci` by the checkout's own node_modules (same lockfile). Named, so a test
   * says exactly what it did not run.
   */
  substitute?: (stage: string, command: string) => { hostPath: string; imagePath: string } | undefined;
  /** Called with each RUN's output, for a failing build's message. */
  log?: (line: string) => void;
}

export interface BuiltStage {
  name: string;
  /** Host directory standing for the stage's filesystem (image path /x is root/x). */
  root: string;
  topDirs: string[];
  env: Record<string, string>;
  workdir: string;
  binds: Array<{ hostPath: string; imagePath: string }>;
}

export interface BuiltImage {
  stages: BuiltStage[];
  runtime: BuiltStage & {
    user?: { uid: number; gid: number };
    cmd: string[];
    volumes: string[];
    healthcheck?: string[];
    exposed: number[];
  };
}

/**
 * The host directory that stands in for the base image's /usr/local/bin: the directory of the Node
 * running this harness (the pinned one under npm test), when its major is the image's.
 */
function baseImageNode(image: string): { hostPath: string; imagePath: string } {
  const major = /^node:(\d+)-bookworm(-slim)?(@sha256:[0-9a-f]+)?$/.exec(image)?.[1];
  if (!major) throw new Error(`FROM ${image}: this harness stands in only for node:<major>-bookworm[-slim] images`);
  if (process.versions.node.split(".")[0] !== major) {
    throw new Error(
      `FROM ${image} needs Node ${major} to stand in for it; this harness runs on ${process.version} (npm run setup installs the pinned Node)`,
    );
  }
  return { hostPath: dirname(process.execPath), imagePath: "/usr/local/bin" };
}

const defaultEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };

/** The host's system directories, read-only, as the base image. */
function baseArgs(): string[] {
  const args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev"];
  for (const dir of ["/bin", "/sbin", "/lib", "/lib64"]) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else args.push("--ro-bind", dir, dir);
  }
  return args;
}

function stageArgs(stage: BuiltStage, readOnly: boolean): string[] {
  const args = baseArgs();
  for (const top of stage.topDirs) args.push(readOnly ? "--ro-bind" : "--bind", join(stage.root, top), `/${top}`);
  for (const b of stage.binds) args.push("--ro-bind", b.hostPath, b.imagePath);
  return args;
}

/** Runs one RUN line (shell form) in the stage as root; rejects with its output when it fails. */
function runIn(stage: BuiltStage, command: string, log: (line: string) => void): Promise<void> {
  const env = Object.entries(stage.env).flatMap(([k, v]) => ["--setenv", k, v]);
  const args = [...stageArgs(stage, false), "--tmpfs", "/tmp", "--unshare-pid", "--die-with-parent", "--clearenv", ...env];
  args.push("--chdir", stage.workdir, "/bin/sh", "-c", command);
  return new Promise((resolve, reject) => {
    const child = spawn(bwrapPath!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (d: Buffer) => {
      output += d.toString();
      for (const line of d.toString().split("\n")) if (line) log(line);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} (stage ${stage.name}) exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const jsonArgs = (i: Instruction): string[] => JSON.parse(i.getArgumentsContent() ?? "[]") as string[];
/** The `NAME=value` pairs of an ENV instruction. */
const envPairs = (i: Instruction) =>
  (i as unknown as { getProperties(): Array<{ getName(): string; getValue(): string }> })
    .getProperties()
    .map((p) => [p.getName(), p.getValue()] as const);

/** The ENV of a Dockerfile's last stage (what its containers start with), without building it. */
export function runtimeEnv(dockerfile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of DockerfileParser.parse(readFileSync(dockerfile, "utf8")).getInstructions()) {
    if (i.getKeyword() === "FROM") for (const k of Object.keys(env)) delete env[k];
    if (i.getKeyword() === "ENV") for (const [name, value] of envPairs(i)) env[name] = value;
  }
  return env;
}

/** Builds every stage in order; the last one is the runtime. */
export async function buildImage(options: ImageBuildOptions): Promise<BuiltImage> {
  if (!bwrapPath) throw new Error("bubblewrap (bwrap) is not installed: npm run setup installs it");
  const log = options.log ?? (() => undefined);
  const parsed = DockerfileParser.parse(readFileSync(options.dockerfile, "utf8"));
  const stages: BuiltStage[] = [];
  let current: (BuiltStage & Partial<BuiltImage["runtime"]>) | undefined;
  const hostPathOf = (stage: BuiltStage, imagePath: string) => join(stage.root, imagePath);
  const resolveIn = (stage: BuiltStage, p: string) => posix.resolve(stage.workdir, p);

  // Which top-level directories each stage writes, read ahead so RUN can bind them.
  const topsByStage: string[][] = [];
  for (const i of parsed.getInstructions()) {
    const key = i.getKeyword();
    if (key === "FROM") topsByStage.push([]);
    const tops = topsByStage[topsByStage.length - 1];
    const paths =
      key === "WORKDIR"
        ? args(i)
        : key === "VOLUME"
          ? jsonArgs(i)
          : key === "COPY"
            ? [args(i)[args(i).length - 1]].filter((p) => p.startsWith("/"))
            : [];
    for (const p of paths) {
      const top = p.split("/")[1];
      if (top && top !== "tmp" && !tops.includes(top)) tops.push(top);
    }
  }

  for (const i of parsed.getInstructions()) {
    const key = i.getKeyword();
    const a = args(i);
    if (key === "FROM") {
      const name = a[2] ?? `stage-${stages.length}`;
      const root = join(options.workDir, name);
      const topDirs = topsByStage[stages.length];
      for (const top of topDirs) mkdirSync(join(root, top), { recursive: true });
      current = { name, root, topDirs, env: { ...defaultEnv }, workdir: "/", binds: [baseImageNode(a[0])] };
      stages.push(current);
      continue;
    }
    if (!current) throw new Error(`${key} before FROM in ${options.dockerfile}`);
    const stage: BuiltStage & Partial<BuiltImage["runtime"]> = current;
    switch (key) {
      case "WORKDIR":
        stage.workdir = resolveIn(stage, a[0]);
        mkdirSync(hostPathOf(stage, stage.workdir), { recursive: true });
        break;
      case "ENV":
        for (const [name, value] of envPairs(i)) stage.env[name] = value;
        break;
      case "COPY": {
        const flags = (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags();
        const from = flags.find((f) => f.getName() === "from")?.getValue() ?? undefined;
        const sources = a.slice(0, -1);
        const dest = resolveIn(stage, a[a.length - 1]);
        const destIsDir = a[a.length - 1].endsWith("/") || sources.length > 1;
        for (const src of sources) {
          let hostSrc: string;
          if (from) {
            const source = stages.find((s) => s.name === from);
            if (!source) throw new Error(`COPY --from=${from}: no stage of that name`);
            hostSrc = hostPathOf(source, src);
          } else {
            const extra = options.contextExtras ? join(options.contextExtras, src) : undefined;
            hostSrc = extra && existsSync(extra) ? extra : join(options.context, src);
          }
          if (!existsSync(hostSrc))
            throw new Error(`COPY ${from ? `--from=${from} ` : ""}${src}: not in the ${from ? "stage" : "build context"}`);
          const target =
            destIsDir && !statSync(hostSrc).isDirectory() ? join(hostPathOf(stage, dest), basename(src)) : hostPathOf(stage, dest);
          cpSync(hostSrc, target, { recursive: true });
        }
        break;
      }
      case "RUN": {
        const command = i.getArgumentsContent() ?? "";
        const substitute = options.substitute?.(stage.name, command);
        if (substitute) stage.binds.push(substitute);
        else await runIn(stage, command, log);
        break;
      }
      case "USER": {
        const [uid, gid] = a[0].split(":").map(Number);
        if (!Number.isInteger(uid)) throw new Error(`USER ${a[0]}: this harness runs numeric users only`);
        stage.user = { uid, gid: Number.isInteger(gid) ? gid : uid };
        break;
      }
      case "VOLUME":
        stage.volumes = jsonArgs(i);
        break;
      case "EXPOSE":
        stage.exposed = a.map((p) => Number(p.split("/")[0]));
        break;
      case "CMD":
        stage.cmd = jsonArgs(i);
        break;
      case "HEALTHCHECK": {
        const content = i.getArgumentsContent() ?? "";
        const json = content.slice(content.indexOf("CMD") + 3).trim();
        stage.healthcheck = JSON.parse(json) as string[];
        break;
      }
      default:
        throw new Error(`${key}: not supported by this harness (add it here)`);
    }
  }
  const last = current as BuiltImage["runtime"] | undefined;
  if (!last?.cmd) throw new Error(`${options.dockerfile}: the last stage has no CMD`);
  return { stages, runtime: { ...last, volumes: last.volumes ?? [], exposed: last.exposed ?? [] } };
}

/** stdout and stderr of a child, interleaved as they arrive. */
function captured(child: ChildProcess): () => string {
  let text = "";
  const add = (d: Buffer) => (text += d.toString());
  child.stdout!.on("data", add);
  child.stderr!.on("data", add);
  return () => text;
}

export interface RunningContainer {
  child: ChildProcess;
  output(): string;
  /** Runs another command in the same image, user and environment (HEALTHCHECK, a CronJob's command). */
  exec(command: string[], env?: Record<string, string>): Promise<{ code: number | null; output: string }>;
  stop(): Promise<void>;
}

/** How a command runs in an image: its environment, working directory, and host folders bound at image paths. */
export interface ImageSpawnOptions {
  env?: Record<string, string>;
  /** Image path → host folder, bound writable (a volume); the image's other VOLUMEs are fresh tmpfs. */
  volumes?: Record<string, string>;
  /** @default the image's WORKDIR */
  cwd?: string;
}

/**
 * Spawns a command in the image: read-only root, each VOLUME a bound host folder (given by
 * `volumes`, which may also name other paths, as a pod's volumeMounts do) or else a world-writable
 * tmpfs like the emptyDir the Rollout mounts, as the image's USER with no capabilities, in its own
 * pid namespace; environment = the image's ENV + `env`. The network is the host's (loopback).
 */
export function spawnInImage(image: BuiltImage, command: string[], options: ImageSpawnOptions = {}): ChildProcess {
  const { runtime } = image;
  const args = [...stageArgs(runtime, true), "--unshare-pid", "--die-with-parent", "--clearenv"];
  const volumes = options.volumes ?? {};
  for (const volume of runtime.volumes) if (!volumes[volume]) args.push("--perms", "1777", "--tmpfs", volume);
  for (const [imagePath, host] of Object.entries(volumes)) args.push("--bind", host, imagePath);
  for (const [k, v] of Object.entries({ ...runtime.env, ...options.env })) args.push("--setenv", k, v);
  args.push("--chdir", options.cwd ?? runtime.workdir);
  if (runtime.user) {
    if (!setprivPath) throw new Error("setpriv (util-linux) is needed to drop to the image's USER");
    args.push(
      setprivPath,
      `--reuid=${runtime.user.uid}`,
      `--regid=${runtime.user.gid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
    );
  }
  return spawn(bwrapPath!, [...args, ...command], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs the image's CMD (spawnInImage), with `env` added to the image's ENV. */
export function runImage(
  image: BuiltImage,
  options: { env?: Record<string, string>; volumes?: Record<string, string> } = {},
): RunningContainer {
  const spawnIn = (command: string[], env: Record<string, string>) =>
    spawnInImage(image, command, { env: { ...options.env, ...env }, volumes: options.volumes });
  const child = spawnIn(image.runtime.cmd, {});
  const output = captured(child);
  return {
    child,
    output,
    exec: (command, env = {}) =>
      new Promise((resolve) => {
        const c = spawnIn(command, env);
        const out = captured(c);
        c.on("exit", (code) => resolve({ code, output: out() }));
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
