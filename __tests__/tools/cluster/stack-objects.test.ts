import { lostFields, stackObjects, unknownKubernetesTypes } from "../../../tools/cluster/stack-objects";

test("lostFields names every path we set that the server pruned or changed", () => {
  const sent = { spec: { replicas: 2, template: { spec: { containers: [{ name: "a", ports: [{ containerPort: 80 }] }], volumes: [] } } } };
  expect(lostFields(sent, sent)).toEqual([]);
  expect(
    lostFields(sent, { spec: { replicas: 2, template: { spec: { containers: [{ name: "a", ports: [{ containerPort: 80 }] }] } } } }),
  ).toEqual([]);
  expect(lostFields(sent, { spec: { replicas: 1, template: { spec: { containers: [{ name: "a" }] } } } })).toEqual([
    "spec.replicas: sent 2, stored 1",
    "spec.template.spec.containers[0].ports: sent a list, stored undefined",
  ]);
  expect(lostFields({ metadata: { labels: { a: "b" } } }, { metadata: {} })).toEqual(["metadata.labels: sent an object, stored undefined"]);
  expect(lostFields({ spec: { x: "y" } }, { spec: {} })).toEqual(['spec.x: sent "y", stored nothing (pruned)']);
});

test("stackObjects: manifests verbatim, typed resources converted, references read, template errors collected", () => {
  const { objects, templateErrors } = stackObjects({
    resource: {
      kubernetes_config_map_v1: {
        env: { metadata: { name: "env", namespace: "n" }, data: { A: "${aws_kms_key.k.arn}" } },
        script: { metadata: { name: "script", namespace: "n" }, data: { "s.sh": 'echo "${HOME}"' } },
      },
      kubernetes_manifest: {
        pa: {
          manifest: {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: "d", namespace: "${kubernetes_config_map_v1.env.metadata[0].namespace}" },
          },
        },
      },
      aws_kms_key: { k: { description: "k" } },
    },
  });
  expect(objects.map((o) => [o.address, o.via])).toEqual([
    ["kubernetes_config_map_v1.env", "typed"],
    ["kubernetes_manifest.pa", "manifest"],
  ]);
  expect(objects[0].object).toEqual({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "env", namespace: "n" },
    data: { A: "(known after apply: aws_kms_key.k.arn)" },
  });
  expect(objects[1].object.metadata.namespace).toBe("n");
  expect(templateErrors.map((e) => e.address)).toEqual(["kubernetes_config_map_v1.script"]);
});

test("unknownKubernetesTypes lists kubernetes_* types the converter has no kind for", () => {
  expect(
    unknownKubernetesTypes({
      resource: { kubernetes_ingress_v1: {}, kubernetes_manifest: {}, kubernetes_service_v1: {}, aws_s3_bucket: {} },
    }),
  ).toEqual(["kubernetes_ingress_v1"]);
});
