import fc from "fast-check";
import { diffStack, makeEntry, diffEntry } from "../../../../tools/ci/synth-diff/diff";
import { jsonWithTrickyKeys, propertyRuns, trickyKey } from "../../../support/properties";

// synth-diff's inputs are two synth outputs a PR author controls (head) and the base: any JSON,
// any keys (including the names of Object.prototype's members), JSON or YAML inside strings.

const body = fc.dictionary(trickyKey, jsonWithTrickyKeys, { maxKeys: 5 });
/** A stack's Terraform JSON, sometimes well-formed, sometimes not. */
const stackJson = fc.oneof(
  fc.record({
    resource: fc.dictionary(
      fc.constantFrom("aws_s3_bucket", "kubernetes_manifest", "helm_release"),
      fc.dictionary(trickyKey, body, { maxKeys: 3 }),
      {
        maxKeys: 2,
      },
    ),
    output: fc.dictionary(trickyKey, body, { maxKeys: 2 }),
  }),
  fc.dictionary(trickyKey, jsonWithTrickyKeys, { maxKeys: 4 }),
);

test("diffing a stack against itself finds nothing, whatever its content; against another never throws", () => {
  fc.assert(
    fc.property(stackJson, stackJson, (a, b) => {
      const same = diffStack("s", a as Record<string, unknown>, structuredClone(a) as Record<string, unknown>);
      expect(same.resources).toEqual([]);
      diffStack("s", a as Record<string, unknown>, b as Record<string, unknown>);
    }),
    propertyRuns("synth-diff self/any", 300),
  );
});

test("a key only in head is reported as added, a key only in base as removed, never as changed", () => {
  fc.assert(
    fc.property(body, trickyKey, fc.string({ minLength: 1, maxLength: 5 }), (common, key, value) => {
      fc.pre(!Object.prototype.hasOwnProperty.call(common, key));
      const withKey = structuredClone(common) as Record<string, unknown>;
      Object.defineProperty(withKey, key, { value, enumerable: true, writable: true, configurable: true });
      const added = diffEntry(
        makeEntry("aws_s3_bucket.b", "aws_s3_bucket", common),
        makeEntry("aws_s3_bucket.b", "aws_s3_bucket", withKey),
      );
      expect(added?.fields.map((f) => f.action)).toEqual(["added"]);
      const removed = diffEntry(
        makeEntry("aws_s3_bucket.b", "aws_s3_bucket", withKey),
        makeEntry("aws_s3_bucket.b", "aws_s3_bucket", common),
      );
      expect(removed?.fields.map((f) => f.action)).toEqual(["removed"]);
    }),
    propertyRuns("synth-diff added/removed keys", 300),
  );
});
