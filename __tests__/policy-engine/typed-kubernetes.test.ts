import { toKubernetesFields, TypedConversionError, typedResourceToObject } from "../../policy-engine/typed-kubernetes";

// The converter's exactness is proven by a real API server with strict field validation
// (__tests__/tools/cluster/control-plane.test.ts); these cases pin the rules it applies.
test("typed StatefulSet: plural list blocks, API spellings, provider-only attributes dropped, string integers typed", () => {
  const object = typedResourceToObject("kubernetes_stateful_set_v1", {
    "//": { metadata: { path: "x" } },
    provider: "kubernetes",
    depends_on: ["kubernetes_namespace_v1.x"],
    wait_for_rollout: true,
    metadata: { name: "db", namespace: "data", labels: { "app.kubernetes.io/name": "db" } },
    spec: {
      replicas: "2",
      service_name: "db-headless",
      selector: { match_labels: { "app.kubernetes.io/name": "db" } },
      template: {
        metadata: { labels: { "app.kubernetes.io/name": "db" } },
        spec: {
          security_context: { fs_group: "999", run_as_user: "999" },
          container: [
            {
              name: "db",
              port: [{ container_port: 5432 }],
              readiness_probe: { http_get: { path: "/", port: "8080" } },
              volume_mount: [{ name: "data", mount_path: "/d" }],
            },
          ],
          volume: [{ name: "cfg", config_map: { name: "cfg", default_mode: "0644" } }],
        },
      },
      volume_claim_template: [
        { metadata: { name: "data" }, spec: { access_modes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      ],
    },
  });
  expect(object).toEqual({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "data", labels: { "app.kubernetes.io/name": "db" } },
    spec: {
      replicas: 2,
      serviceName: "db-headless",
      selector: { matchLabels: { "app.kubernetes.io/name": "db" } },
      template: {
        metadata: { labels: { "app.kubernetes.io/name": "db" } },
        spec: {
          securityContext: { fsGroup: 999, runAsUser: 999 },
          containers: [
            {
              name: "db",
              ports: [{ containerPort: 5432 }],
              readinessProbe: { httpGet: { path: "/", port: 8080 } },
              volumeMounts: [{ name: "data", mountPath: "/d" }],
            },
          ],
          volumes: [{ name: "cfg", configMap: { name: "cfg", defaultMode: 0o644 } }],
        },
      },
      volumeClaimTemplates: [
        { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      ],
    },
  });
});

test("typed Service: clusterIP spelling, named target ports stay strings, numeric ones become numbers", () => {
  const object = typedResourceToObject("kubernetes_service_v1", {
    metadata: { name: "s" },
    spec: {
      cluster_ip: "None",
      port: [
        { port: 80, target_port: "http" },
        { port: 5432, target_port: "5432" },
      ],
    },
  });
  expect(object?.spec).toEqual({
    clusterIP: "None",
    ports: [
      { port: 80, targetPort: "http" },
      { port: 5432, targetPort: 5432 },
    ],
  });
});

test("map attributes keep their keys verbatim", () => {
  expect(toKubernetesFields({ data: { some_key: "v" }, metadata: { annotations: { "a_b/c_d": "x" } } })).toEqual({
    data: { some_key: "v" },
    metadata: { annotations: { "a_b/c_d": "x" } },
  });
});

test("a non-integer replicas is refused with the path named", () => {
  expect(() => typedResourceToObject("kubernetes_deployment_v1", { metadata: { name: "d" }, spec: { replicas: "two" } })).toThrow(
    TypedConversionError,
  );
  expect(() => typedResourceToObject("kubernetes_deployment_v1", { metadata: { name: "d" }, spec: { replicas: "two" } })).toThrow(
    'kubernetes_deployment_v1.spec.replicas: must be an integer (got "two")',
  );
});

test("types that are not typed Kubernetes kinds give undefined", () => {
  expect(typedResourceToObject("kubernetes_manifest", { manifest: {} })).toBeUndefined();
  expect(typedResourceToObject("aws_s3_bucket", { bucket: "b" })).toBeUndefined();
});

test("typed CronJob: timeZone spelling and ttlSecondsAfterFinished as an integer", () => {
  const object = typedResourceToObject("kubernetes_cron_job_v1", {
    metadata: { name: "c" },
    spec: { schedule: "*/2 * * * *", timezone: "Etc/UTC", job_template: { spec: { ttl_seconds_after_finished: "600" } } },
  });
  expect(object?.spec).toEqual({ schedule: "*/2 * * * *", timeZone: "Etc/UTC", jobTemplate: { spec: { ttlSecondsAfterFinished: 600 } } });
});
