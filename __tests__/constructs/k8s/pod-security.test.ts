// The one hardened pod and container default (constructs/k8s/pod-security.ts): what every
// workload gets without asking, what a workload may say, and what is refused.
import {
  containerSecurityContext,
  podSecurityContext,
  typedContainerSecurityContext,
  typedPodSecurityContext,
} from "../../../constructs/k8s/pod-security";
import { manifestsOf, resourcesOf, synthAll } from "../../../harness/synth";

test("a container gets non-root, a read-only root, no privilege or escalation, no capabilities, RuntimeDefault seccomp", () => {
  expect(containerSecurityContext()).toEqual({
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
});

test("a writable root filesystem is a named weakening; the rest stays hardened", () => {
  expect(containerSecurityContext({ runAsUser: 999, runAsGroup: 999, writableRootFilesystem: true })).toEqual({
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 999,
    readOnlyRootFilesystem: false,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
});

test("a pod gets non-root and RuntimeDefault seccomp, with only the groups it names", () => {
  expect(podSecurityContext({ runAsUser: 10001 })).toEqual({
    runAsNonRoot: true,
    runAsUser: 10001,
    seccompProfile: { type: "RuntimeDefault" },
  });
  expect(podSecurityContext({ runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 })).toEqual({
    runAsNonRoot: true,
    runAsUser: 10001,
    runAsGroup: 10001,
    fsGroup: 10001,
    seccompProfile: { type: "RuntimeDefault" },
  });
});

test("typed resources get the same contexts with the provider's string ids", () => {
  expect(typedPodSecurityContext({ runAsUser: 999, fsGroup: 999 })).toEqual({
    runAsNonRoot: true,
    runAsUser: "999",
    runAsGroup: undefined,
    fsGroup: "999",
    seccompProfile: { type: "RuntimeDefault" },
  });
  expect(typedContainerSecurityContext({ runAsUser: 10001 })).toMatchObject({
    runAsUser: "10001",
    readOnlyRootFilesystem: true,
    privileged: false,
  });
});

test.each<[string, () => unknown, RegExp]>([
  [
    "root as the pod's user",
    () => podSecurityContext({ runAsUser: 0 }),
    /^podSecurityContext: runAsUser must be an integer 1-2147483647 \(0 is root\) \(got 0\)$/,
  ],
  ["a fractional fsGroup", () => podSecurityContext({ runAsUser: 1, fsGroup: 1.5 }), /^podSecurityContext: fsGroup must be an integer/],
  [
    "root as a container's group",
    () => containerSecurityContext({ runAsGroup: 0 }),
    /^containerSecurityContext: runAsGroup must be an integer 1-2147483647/,
  ],
  [
    "a negative container user",
    () => typedContainerSecurityContext({ runAsUser: -1 }),
    /^containerSecurityContext: runAsUser must be an integer/,
  ],
])("refused: %s", (_what, build, message) => {
  expect(build).toThrow(message);
});

describe.each(["staging", "production"])("every container the stacks make (%s)", (env) => {
  type Json = Record<string, unknown>;
  const podsOf = (value: unknown, found: Json[] = []): Json[] => {
    if (Array.isArray(value)) value.forEach((v) => podsOf(v, found));
    else if (value && typeof value === "object") {
      const o = value as Json;
      if (Array.isArray(o.container) || Array.isArray(o.containers)) found.push(o);
      Object.values(o).forEach((v) => podsOf(v, found));
    }
    return found;
  };

  test("runs with the hardened container default; only WAL-G's Postgres containers keep a writable root (named)", async () => {
    const stacks = await synthAll(env);
    const contexts: Array<[string, Json]> = [];
    for (const [id, stack] of Object.entries(stacks)) {
      const trees = [
        ...Object.values(resourcesOf(stack, "kubernetes_stateful_set_v1")),
        ...Object.values(resourcesOf(stack, "kubernetes_cron_job_v1")),
        ...manifestsOf(stack).map((m) => m.manifest),
      ];
      for (const pod of trees.flatMap((t) => podsOf(t))) {
        for (const c of [...((pod.container ?? pod.containers) as Json[]), ...((pod.init_container ?? pod.initContainers ?? []) as Json[])])
          contexts.push([`${id}: ${String(c.name)}`, (c.security_context ?? c.securityContext) as Json]);
      }
    }
    expect(contexts.length).toBeGreaterThanOrEqual(6);
    for (const [where, context] of contexts) {
      const readOnly = context.read_only_root_filesystem ?? context.readOnlyRootFilesystem;
      expect([where, readOnly]).toEqual([where, !where.startsWith("backup: ")]);
      expect([where, context.privileged, context.allow_privilege_escalation ?? context.allowPrivilegeEscalation]).toEqual([
        where,
        false,
        false,
      ]);
      expect([where, context.capabilities]).toEqual([where, { drop: ["ALL"] }]);
      expect([where, context.seccomp_profile ?? context.seccompProfile]).toEqual([where, { type: "RuntimeDefault" }]);
    }
  });
});
