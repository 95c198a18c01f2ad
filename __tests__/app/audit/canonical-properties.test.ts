import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { canonicalJson } from "../../../app/audit/canonical";
import { jsonLine } from "../../../app/audit/worm";
import { fileDigest } from "../../../policy-engine/hash";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { jsonWithTrickyKeys, propertyRuns } from "../../support/properties";

// Properties of the canonicalisers: the signed pack's canonical JSON, OPA's structured file
// digest, and the WORM record line. Bounded runs, the seed printed (PROPERTY_SEED replays one).

const jq = findBinary("jq");

/** The same value with every object's keys in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const key of Object.keys(value).reverse())
    Object.defineProperty(out, key, {
      value: reversedKeys((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}

/** Every object key of a value, at any depth. */
function allKeys(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => allKeys(v, out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      allKeys(v, out);
    }
  return out;
}

describe("canonicalJson (the signed pack's bytes)", () => {
  test("is valid JSON, keeps every key (prototype names included), and does not depend on key order", () => {
    fc.assert(
      fc.property(jsonWithTrickyKeys, (value) => {
        const text = canonicalJson(value);
        const reparsed = JSON.parse(text) as unknown;
        expect(allKeys(reparsed).sort()).toEqual(allKeys(value).sort());
        expect(canonicalJson(reparsed)).toBe(text);
        expect(canonicalJson(reversedKeys(value))).toBe(text);
      }),
      propertyRuns("canonicalJson keeps keys, order-free", 300),
    );
  });
});

// jq is the documented independent verifier: without it the suite skips locally and fails under CI=true.
describeWithService("canonicalJson against jq", jq ? undefined : "jq", () => {
  test("prints exactly what `jq -cS .` prints (the independent verifier's canonical bytes)", () => {
    // One jq run per batch: each sample is a line in, a line out.
    fc.assert(
      fc.property(fc.array(jsonWithTrickyKeys, { minLength: 1, maxLength: 40 }), (values) => {
        const lines = execFileSync(jq!, ["-cS", "."], { input: values.map((v) => JSON.stringify(v)).join("\n") })
          .toString("utf8")
          .trimEnd()
          .split("\n");
        expect(values.map((v) => canonicalJson(v))).toEqual(lines);
      }),
      propertyRuns("canonicalJson equals jq -cS", 40),
    );
  });
});

describe("fileDigest (OPA's digest of a structured bundle file)", () => {
  test("ignores key order and whitespace, and changes with any value", () => {
    fc.assert(
      fc.property(jsonWithTrickyKeys, jsonWithTrickyKeys, (a, b) => {
        const digest = (text: string) => fileDigest("data.json", Buffer.from(text), "SHA-256");
        const d = digest(JSON.stringify(a));
        expect(digest(JSON.stringify(reversedKeys(a), null, 2))).toBe(d);
        if (canonicalJson(a) !== canonicalJson(b)) expect(digest(JSON.stringify(b))).not.toBe(d);
      }),
      propertyRuns("fileDigest order/whitespace-free, value-sensitive", 300),
    );
  });
});

describe("jsonLine (one WORM record)", () => {
  test("holds no character any line-based reader breaks on, and parses back to the value", () => {
    // Python's str.splitlines() set: \n \r \v \f \x1c-\x1e NEL LS PS.
    // eslint-disable-next-line no-control-regex
    const lineBreak = /[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/;
    fc.assert(
      fc.property(jsonWithTrickyKeys, (value) => {
        const line = jsonLine(value);
        expect(line).not.toMatch(lineBreak);
        expect(canonicalJson(JSON.parse(line))).toBe(canonicalJson(value));
      }),
      propertyRuns("jsonLine single-line, lossless", 300),
    );
  });
});
