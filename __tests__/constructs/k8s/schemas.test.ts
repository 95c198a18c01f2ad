import { loadManifestSchemas, validateManifest, ManifestValidationError } from "../../../constructs/k8s/schemas";

beforeAll(() => loadManifestSchemas());

test("a valid PeerAuthentication passes its schema", () => {
  expect(() =>
    validateManifest({
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { mtls: { mode: "STRICT" } },
    }),
  ).not.toThrow();
});

test("an invalid field fails with the object and field named", () => {
  let error: unknown;
  try {
    validateManifest({
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { mtls: { mode: "STRIKT" } },
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ManifestValidationError);
  const err = error as ManifestValidationError;
  expect(err.object).toBe("security.istio.io/v1 PeerAuthentication istio-system/default");
  expect(err.fields).toEqual([expect.stringMatching(/^spec\.mtls\.mode: must be equal to one of the allowed values \(allowed: .*STRICT/)]);
});

test("a kind without a registered schema is refused", () => {
  expect(() => validateManifest({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toThrow(
    /no schema registered for example.com\/v1\/Widget/,
  );
});
