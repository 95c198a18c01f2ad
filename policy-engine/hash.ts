// File digests exactly as OPA computes them for bundle signatures: raw bytes for policy and wasm
// files; for structured files (data.json, data.yaml, .manifest, .signatures.json) a walk of the
// parsed JSON with object keys sorted and primitives JSON-encoded the way Go encodes them, so
// whitespace does not matter but every value does (numbers keep their literal spelling).
import { createHash } from "node:crypto";
import { BundleError } from "./errors";

/** OPA's hash algorithm names → node's. */
export const hashAlgorithms: Readonly<Record<string, string>> = {
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

const structuredNames = new Set(["data.json", "data.yaml", ".manifest", ".signatures.json"]);

export function isStructured(name: string): boolean {
  return structuredNames.has(name.slice(name.lastIndexOf("/") + 1));
}

type Json = null | boolean | string | { number: string } | Json[] | { object: Array<[string, Json]> };

// JSON strings may not hold raw control characters, hence the range.
// eslint-disable-next-line no-control-regex
const jsonString = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const jsonNumber = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

// A JSON parser that keeps number literals as written (OPA decodes with UseNumber).
function parseJson(text: string, name: string): Json {
  let i = 0;
  const fail = (what: string): never => {
    throw new BundleError("FILE_HASH_MISMATCH", `${name} is not valid JSON (${what} at ${i})`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries = new Map<string, Json>();
      ws();
      if (text[i] === "}") return (i++, { object: [] });
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const key = string();
        ws();
        if (text[i++] !== ":") fail("expected ':'");
        entries.delete(key);
        entries.set(key, value());
        ws();
        const next = text[i++];
        if (next === "}") return { object: [...entries] };
        if (next !== ",") fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const items: Json[] = [];
      ws();
      if (text[i] === "]") return (i++, items);
      for (;;) {
        items.push(value());
        ws();
        const next = text[i++];
        if (next === "]") return items;
        if (next !== ",") fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) return ((i += word.length), v);
    }
    jsonNumber.lastIndex = i;
    const m = jsonNumber.exec(text);
    if (!m) return fail("unexpected character");
    i += m[0].length;
    return { number: m[0] };
  };
  const string = (): string => {
    jsonString.lastIndex = i;
    const m = jsonString.exec(text);
    if (!m) return fail("bad string");
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const result = value();
  ws();
  if (i !== text.length) fail("trailing data");
  return result;
}

// Go's encoding/json (SetEscapeHTML(false)) spelling of a string.
const goString = (s: string) =>
  JSON.stringify(s)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function walk(v: Json, out: string[]): void {
  if (v === null || typeof v === "boolean") out.push(String(v));
  else if (typeof v === "string") out.push(goString(v));
  else if (Array.isArray(v)) {
    out.push("[");
    v.forEach((e, i) => {
      if (i > 0) out.push(",");
      walk(e, out);
    });
    out.push("]");
  } else if ("number" in v) out.push(v.number);
  else {
    out.push("{");
    [...v.object]
      .sort(([a], [b]) => byteOrder(a, b))
      .forEach(([k, e], i) => {
        if (i > 0) out.push(",");
        out.push(goString(k), ":");
        walk(e, out);
      });
    out.push("}");
  }
}

/** The hex digest OPA signs for a bundle file. */
export function fileDigest(name: string, data: Buffer, algorithm: string): string {
  const nodeAlgorithm = hashAlgorithms[algorithm];
  if (!nodeAlgorithm) {
    throw new BundleError(
      "HASH_ALGORITHM_UNSUPPORTED",
      `${name}: hash algorithm ${algorithm} (allowed: ${Object.keys(hashAlgorithms).join(", ")})`,
    );
  }
  const hash = createHash(nodeAlgorithm);
  if (isStructured(name)) {
    if (name.endsWith(".yaml")) throw new BundleError("HASH_ALGORITHM_UNSUPPORTED", `${name}: YAML data files are not supported`);
    const out: string[] = [];
    walk(parseJson(data.toString("utf8"), name), out);
    hash.update(out.join(""));
  } else hash.update(data);
  return hash.digest("hex");
}
