// `npm run -s verify:export -- <pack.json> --key <public.pem> [--previous <earlier-pack.json>] [--json]`
// Verifies a signed compliance pack offline: signature, Merkle root, inclusion and consistency
// proofs, the hash chain. Exit 0 valid, 1 invalid (each failure printed), 2 bad usage or unreadable input.
// The pack is read in two passes, one entry at a time (app/export/pack-file.ts): its memory does
// not grow with the number of entries.
import { readFileSync } from "node:fs";
import { parsePublicKey, verifyPackSource, type PackSource } from "../../app/export/verify";
import { PackFileError, readPackFile } from "../../app/export/pack-file";
import { parseCli, runCli, UsageError } from "../../lib/cli";

const usage = `usage: npm run -s verify:export -- <pack.json> --key <public.pem> [--previous <earlier-pack.json>] [--json]

Verifies a pack from GET /api/compliance/export/signed offline:
  - the ECDSA P-256 signature over the pack's canonical bytes (key from GET /api/compliance/export/key)
  - every audit entry's hash and link, ids fromId..treeSize in order (1..treeSize unless a range)
  - the RFC 6962 Merkle root, recomputed from the entries (and, for a range, the prefix frontier)
  - the inclusion proofs, and the consistency proof from an earlier export (--previous)

  --key FILE        PEM public key (required)
  --previous FILE   an earlier pack of the same log; its root must be where the consistency proof starts
                    (and, for a range that continues it, the prefix and the first entry's link)
  --json            print the result as JSON
Exit codes: 0 valid, 1 invalid (what failed is printed), 2 bad usage or unreadable input.`;

function parseOptions(argv: string[]): { pack: string; key: string; previous?: string; json: boolean } {
  const { values, positionals } = parseCli(
    argv,
    { key: { type: "string" }, previous: { type: "string" }, json: { type: "boolean" } },
    { positionals: true },
  );
  if (positionals.length > 1) throw new UsageError(`only one pack may be given (got '${positionals[0]}' and '${positionals[1]}')`);
  const [pack] = positionals;
  if (!pack) throw new UsageError("missing <pack.json>");
  if (!values.key) throw new UsageError("--key <public.pem> is required");
  return { pack, key: values.key, previous: values.previous, json: values.json ?? false };
}

/** A pack file, read in bounded memory: the document without its entries now, the entries as verification goes through them. */
function readPack(path: string, what: string): PackSource {
  const notJson = (err: unknown) => new UsageError(`${what} ${path} is not JSON: ${(err as Error).message}`);
  let file: ReturnType<typeof readPackFile>;
  try {
    file = readPackFile(path);
  } catch (err) {
    if (err instanceof PackFileError) throw notJson(err);
    throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
  return {
    doc: file.doc,
    forEachEntry(visit) {
      try {
        file.forEachEntry(visit);
      } catch (err) {
        if (err instanceof PackFileError) throw notJson(err);
        throw err;
      }
    },
  };
}

function main(argv: string[]): number {
  const args = parseOptions(argv);
  let pem: string;
  try {
    pem = readFileSync(args.key, "utf8");
    parsePublicKey(pem);
  } catch (err) {
    throw new UsageError(`cannot use key ${args.key}: ${(err as Error).message}`);
  }
  const pack = readPack(args.pack, "pack");
  const previous = args.previous ? readPack(args.previous, "previous pack") : undefined;
  const result = verifyPackSource(pack, pem, { previous });
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (result.ok) {
    const c = result.checked;
    process.stdout.write(
      `valid: ${c.entries} entries${c.fromId > 1 ? ` (${c.fromId}-${c.treeSize})` : ""}, tree size ${c.treeSize}, root ${c.root}, ${c.inclusionProofs} inclusion proof(s)` +
        `${c.consistencyFrom !== null ? `, consistent with tree size ${c.consistencyFrom}` : ""}\n`,
    );
  } else {
    process.stdout.write(`invalid: ${args.pack}\n`);
    for (const f of result.failures) process.stdout.write(`  ${f.code}: ${f.message}\n`);
  }
  return result.ok ? 0 : 1;
}

void runCli({ tool: "verify:export", usage, main, shortUsage: true });
