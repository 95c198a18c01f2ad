// The hardened security contexts every pod and container of this project runs with, written once.
// A workload says only what differs: its user and group, and any named weakening.

/** The pod's user and groups. */
export interface PodSecurityOptions {
  /** uid every container runs as (never 0). */
  readonly runAsUser: number;
  /** Primary gid of every container. @default the image's */
  readonly runAsGroup?: number;
  /** gid that owns the pod's volumes. @default volumes keep their own ownership */
  readonly fsGroup?: number;
}

/** A container's user and the weakenings it needs, each named. */
export interface ContainerSecurityOptions {
  /** uid the container runs as (never 0). @default the pod's */
  readonly runAsUser?: number;
  /** Primary gid of the container. @default the pod's */
  readonly runAsGroup?: number;
  /**
   * WEAKENING: the container may write to its root filesystem (an image that writes outside its
   * volumes, such as Postgres's entrypoint). @default false: the root filesystem is read-only
   */
  readonly writableRootFilesystem?: boolean;
}

/** A pod securityContext in the API's spelling (what manifests and chart values carry). */
export interface PodSecurityContext {
  readonly runAsNonRoot: true;
  readonly runAsUser: number;
  readonly runAsGroup?: number;
  readonly fsGroup?: number;
  readonly seccompProfile: { readonly type: "RuntimeDefault" };
}

/** A container securityContext in the API's spelling. */
export interface ContainerSecurityContext {
  readonly runAsNonRoot: true;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly allowPrivilegeEscalation: false;
  readonly privileged: false;
  readonly capabilities: { readonly drop: readonly ["ALL"] };
  readonly seccompProfile: { readonly type: "RuntimeDefault" };
}

/** Throws an error naming the option and what is allowed. */
function checkId(where: string, option: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 2147483647))
    throw new Error(`${where}: ${option} must be an integer 1-2147483647 (0 is root) (got ${JSON.stringify(value)})`);
}

/** The pod securityContext: non-root, the runtime's default seccomp profile, the given user and groups. */
export function podSecurityContext(options: PodSecurityOptions): PodSecurityContext {
  for (const option of ["runAsUser", "runAsGroup", "fsGroup"] as const) checkId("podSecurityContext", option, options[option]);
  return {
    runAsNonRoot: true,
    runAsUser: options.runAsUser,
    ...(options.runAsGroup === undefined ? {} : { runAsGroup: options.runAsGroup }),
    ...(options.fsGroup === undefined ? {} : { fsGroup: options.fsGroup }),
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * The container securityContext: non-root, read-only root filesystem, no privilege or escalation
 * to it, every capability dropped, the runtime's default seccomp profile.
 */
export function containerSecurityContext(options: ContainerSecurityOptions = {}): ContainerSecurityContext {
  for (const option of ["runAsUser", "runAsGroup"] as const) checkId("containerSecurityContext", option, options[option]);
  return {
    runAsNonRoot: true,
    ...(options.runAsUser === undefined ? {} : { runAsUser: options.runAsUser }),
    ...(options.runAsGroup === undefined ? {} : { runAsGroup: options.runAsGroup }),
    readOnlyRootFilesystem: options.writableRootFilesystem !== true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** A pod securityContext as the kubernetes provider's typed resources take it: ids are strings there. */
export interface TypedPodSecurityContext {
  readonly runAsNonRoot: boolean;
  readonly runAsUser: string;
  readonly runAsGroup?: string;
  readonly fsGroup?: string;
  readonly seccompProfile: { readonly type: string };
}

/** A container securityContext as the kubernetes provider's typed resources take it. */
export interface TypedContainerSecurityContext {
  readonly runAsNonRoot: boolean;
  readonly runAsUser?: string;
  readonly runAsGroup?: string;
  readonly readOnlyRootFilesystem: boolean;
  readonly allowPrivilegeEscalation: boolean;
  readonly privileged: boolean;
  readonly capabilities: { readonly drop: string[] };
  readonly seccompProfile: { readonly type: string };
}

const idString = (id: number | undefined) => (id === undefined ? undefined : String(id));

/** {@link podSecurityContext} for a typed resource (`kubernetes_*_v1`). */
export function typedPodSecurityContext(options: PodSecurityOptions): TypedPodSecurityContext {
  const c = podSecurityContext(options);
  return { ...c, runAsUser: String(c.runAsUser), runAsGroup: idString(c.runAsGroup), fsGroup: idString(c.fsGroup) };
}

/** {@link containerSecurityContext} for a typed resource (`kubernetes_*_v1`). */
export function typedContainerSecurityContext(options: ContainerSecurityOptions = {}): TypedContainerSecurityContext {
  const c = containerSecurityContext(options);
  return { ...c, runAsUser: idString(c.runAsUser), runAsGroup: idString(c.runAsGroup), capabilities: { drop: [...c.capabilities.drop] } };
}
