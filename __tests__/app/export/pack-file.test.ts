import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryHash, genesisHash } from "../../../app/audit/log";
import type { AuditEntry } from "../../../app/audit/types";
import { buildSignedPack, type SignedPack } from "../../../app/export/pack";
import { PackFileError, readPackFile } from "../../../app/export/pack-file";
import { signerFromKey } from "../../../app/export/signing";
import { verifyPackSource, verifySignedPack, type PackSource } from "../../../app/export/verify";

// verify:export reads a pack file in two passes, one entry at a time. What it reads must be what
// JSON.parse of the whole file gives (values, repeated members, refusals), at any chunk boundary.

const dir = mkdtempSync(join(tmpdir(), "maestro-pack-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const write = (text: string) => {
  const path = join(dir, `doc-${files++}.json`);
  writeFileSync(path, text);
  return path;
};

/** The document as readPackFile gives it, with the entries put back where they were. */
function reassembled(path: string, chunkSize?: number): unknown {
  const file = readPackFile(path, { chunkSize });
  const entries: unknown[] = [];
  file.forEachEntry((e) => entries.push(e));
  const doc = file.doc as { pack?: { audit?: { entries?: unknown } } };
  if (Array.isArray(doc?.pack?.audit?.entries)) doc.pack.audit.entries = entries;
  else expect(entries).toEqual([]);
  return doc;
}

const signer = signerFromKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
function chain(n: number): AuditEntry[] {
  let prev = genesisHash;
  return Array.from({ length: n }, (_, i) => {
    const draft = {
      id: i + 1,
      at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      type: "t",
      actor: i % 2 ? 'quote " and \\ back' : "caf\u00e9 \u{1F600} [{]}",
      details: { n: i, s: i % 3 ? "\\" : '\\"' },
      prevHash: prev,
    };
    const entry = { ...draft, hash: entryHash(draft) };
    prev = entry.hash;
    return entry;
  });
}
const pack = buildSignedPack({ entries: chain(12), environment: "test", proveIds: [3, 12], sinceSize: 5 }, signer);

const documents: [string, string][] = [
  ["a signed pack as the service writes it", JSON.stringify(pack)],
  ["the same, indented (jq .)", JSON.stringify(pack, null, 2)],
  [
    "signature first, entries last in audit",
    `{"signature":${JSON.stringify(pack.signature)},"pack":{"merkle":${JSON.stringify(pack.pack.merkle)},"audit":{"toId":12,"fromId":1,"entries":${JSON.stringify(pack.pack.audit.entries)}}}}`,
  ],
  ["entries named with an escape", '{"pack":{"audit":{"\\u0065ntries":[1,2,{"a":[3]}]}}}'],
  ["entries repeated: the last wins", '{"pack":{"audit":{"entries":[1,2],"entries":[3,"x",null]}}}'],
  ["pack repeated, the last without entries", '{"pack":{"audit":{"entries":[1]}},"pack":{"audit":{}}}'],
  ["pack repeated, entries in both", '{"pack":{"audit":{"entries":[1]}},"pack":{"audit":{"entries":[{"b":2}, 7]}}}'],
  ["entries not an array", '{"pack":{"audit":{"entries":"[1,2]"}}}'],
  [
    "literals, nesting and strings with brackets",
    ' { "pack" : { "audit" : { "entries" : [ true , -1.5e3 , "]" , [ [ ] ] , { "x" : "\\\\\\"]" } , null ] } } } \n',
  ],
  ["an empty entries array", '{"pack":{"audit":{"entries":[ ]}}}'],
  ["entries deeper than pack.audit", '{"x":{"pack":{"audit":{"entries":[1]}}},"pack":{"x":{"audit":{"entries":[2]}}}}'],
  ["a top-level array", '[{"pack":{"audit":{"entries":[1]}}}]'],
  ["__proto__ members", '{"pack":{"__proto__":{"a":1},"audit":{"entries":[{"__proto__":{"b":2}}]}}}'],
];

describe("readPackFile", () => {
  test.each(documents)("%s: what JSON.parse gives, at every chunk size", (_name, text) => {
    const path = write(text);
    const expected = JSON.stringify(JSON.parse(text));
    for (const chunkSize of [1, 2, 3, 7, 64, undefined]) expect(JSON.stringify(reassembled(path, chunkSize))).toBe(expected);
  });

  const broken: [string, string][] = [
    ["a trailing comma in the entries", '{"pack":{"audit":{"entries":[1,]}}}'],
    ["a leading comma", '{"pack":{"audit":{"entries":[,1]}}}'],
    ["two entries without a comma", '{"pack":{"audit":{"entries":[1 2]}}}'],
    ["two objects without a comma", '{"pack":{"audit":{"entries":[{}{}]}}}'],
    ["mismatched brackets in an entry", '{"pack":{"audit":{"entries":[{"a":1]]}}}'],
    ["a bad literal", '{"pack":{"audit":{"entries":[tru]}}}'],
    ["an unterminated string", '{"pack":{"audit":{"entries":["abc]}}}'],
    ["the file ends inside the entries", '{"pack":{"audit":{"entries":[1,2'],
    ["garbage after the document", '{"pack":{"audit":{"entries":[1]}}} x'],
    ["a byte order mark", '\ufeff{"pack":{"audit":{"entries":[]}}}'],
    ["a raw control character in an entry's string", '{"pack":{"audit":{"entries":["a\tb"]}}}'],
    ["a bad escape in an entry", '{"pack":{"audit":{"entries":["\\x"]}}}'],
  ];
  test.each(broken)("%s: refused as JSON.parse refuses it", (_name, text) => {
    expect(() => JSON.parse(text)).toThrow();
    const path = write(text);
    for (const chunkSize of [1, 5, undefined]) expect(() => reassembled(path, chunkSize)).toThrow(PackFileError);
  });
});

describe("verify:export's streamed verification", () => {
  const source = (text: string, chunkSize?: number): PackSource => {
    const file = readPackFile(write(text), { chunkSize });
    return { doc: file.doc, forEachEntry: (visit) => file.forEachEntry(visit) };
  };
  const earlier = buildSignedPack({ entries: chain(5), environment: "test" }, signer);
  const tampered: [string, (p: SignedPack) => void][] = [
    ["untouched", () => undefined],
    ["an entry changed", (p) => (p.pack.audit.entries[4].actor = "mallory")],
    ["an entry removed", (p) => p.pack.audit.entries.splice(7, 1)],
    ["entries swapped", (p) => p.pack.audit.entries.reverse()],
    ["an entry that is not an object", (p) => ((p.pack.audit.entries as unknown[])[2] = 42)],
    ["the root replaced", (p) => (p.pack.merkle.root = "0".repeat(64))],
    ["an inclusion proof broken", (p) => (p.pack.proofs.inclusion[0].path[0] = "f".repeat(64))],
    ["a proof for an entry out of the pack", (p) => (p.pack.proofs.inclusion[0].id = 99)],
    ["the prefix of a whole pack planted", (p) => (p.pack.merkle.prefix = ["e".repeat(64)])],
    ["a member added", (p) => ((p.pack as unknown as Record<string, unknown>).aaa = [1, "\u007f"])],
    ["the format changed", (p) => ((p.pack as { format: string }).format = "v0")],
  ];
  test.each(tampered)("%s: the same verdict as verifying the parsed document", (_name, change) => {
    const doc = JSON.parse(JSON.stringify(pack)) as SignedPack;
    change(doc);
    const text = JSON.stringify(doc);
    const expected = verifySignedPack(JSON.parse(text), signer.publicKeyPem, { previous: earlier });
    for (const chunkSize of [3, undefined])
      expect(verifyPackSource(source(text, chunkSize), signer.publicKeyPem, { previous: source(JSON.stringify(earlier)) })).toEqual(
        expected,
      );
  });
});
