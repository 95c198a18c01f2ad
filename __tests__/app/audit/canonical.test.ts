import { canonicalJson, sortDeep } from "../../../app/audit/canonical";
import { entryHash } from "../../../app/audit/log";
import { fileDigest } from "../../../policy-engine/hash";
import { canonical } from "../../../tools/ci/synth-diff/diff";

// JSON.parse makes "__proto__" an ordinary own member; canonical JSON must keep it as one.
const withProto = (text: string) => JSON.parse(text) as Record<string, unknown>;

describe("canonical JSON keeps every member, '__proto__' included", () => {
  test("an out-of-order object with a '__proto__' member keeps it in the canonical bytes", () => {
    const value = withProto('{"z":1,"__proto__":{"reason":"approved by CISO"},"a":2}');
    expect(canonicalJson(value)).toBe('{"__proto__":{"reason":"approved by CISO"},"a":2,"z":1}');
    const sorted = sortDeep(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(sorted)).toBe(Object.prototype);
    expect((sorted as { reason?: unknown }).reason).toBeUndefined();
  });

  test("an in-order object whose '__proto__' member needs a sorted copy keeps it", () => {
    const value = withProto('{"__proto__":{"b":1,"a":2},"x":1}');
    expect(canonicalJson(value)).toBe('{"__proto__":{"a":2,"b":1},"x":1}');
  });

  test("an entry hash covers a '__proto__' member of details", () => {
    const base = { id: 1, at: "2026-12-01T00:00:00.000Z", type: "t", actor: "a", prevHash: "0".repeat(64) };
    const plain = entryHash({ ...base, details: withProto('{"z":1}') });
    const injected = entryHash({ ...base, details: withProto('{"z":1,"__proto__":{"reason":"approved by CISO"}}') });
    expect(injected).not.toBe(plain);
  });
});

test("the bundle file digest (OPA's structured hash) covers a '__proto__' member of data.json", () => {
  const digest = (text: string) => fileDigest("data.json", Buffer.from(text), "SHA-256");
  expect(digest('{"a":1,"__proto__":{"x":1}}')).not.toBe(digest('{"a":1}'));
  expect(digest('{"a":1,"__proto__":{"x":1}}')).toBe(digest('{"__proto__":{"x":1},"a":1}'));
});

test("synth-diff's canonical form covers a '__proto__' member", () => {
  expect(canonical(withProto('{"a":1,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"a":1}');
});

test("canonical JSON is jq's bytes: keys in code point order, DEL escaped (found by the jq property test)", () => {
  // U+10000 (a surrogate pair in UTF-16) sorts after U+FFFF by code point, before it by code unit.
  expect(canonicalJson({ "\u{10000}": 1, "\uffff": 2, a: "\u007f" })).toBe('{"a":"\\u007f","\uffff":2,"\u{10000}":1}');
  // Entry hashes keep the order they were always computed with, so existing chains still verify.
  expect(Object.keys(sortDeep({ "\uffff": 2, "\u{10000}": 1 }) as object)).toEqual(["\u{10000}", "\uffff"]);
});
