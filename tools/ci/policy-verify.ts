// `npm run -s policy:verify -- <bundle> --key <public.pem> [--key-id ID] [--scope S]`: verifies a
// bundle's OPA-format signature. Exit 0 valid; 1 with a stable error code and a message otherwise.
import { readFileSync } from "node:fs";
import { BundleError } from "../../policy-engine/errors";
import { readPublicKey } from "../../policy-engine/keys";
import { verifyBundle } from "../../policy-engine/verify";
import { parseCli, runCli, UsageError } from "../../lib/cli";

const usage = `usage: npm run -s policy:verify -- <bundle.tar.gz> --key <public.pem> [options]

Verifies a policy bundle's signature (.signatures.json) and every file's digest.
  --key FILE      PEM public key (RSA: RS256, EC P-256: ES256); repeatable as --key ID=FILE
  --key-id ID     id of a plain --key (default "default")
  --scope S       required scope claim (default none)
exit: 0 valid; 1 invalid, printing "<CODE>: <message>" (BUNDLE_UNSIGNED, SIGNATURE_INVALID,
FILE_HASH_MISMATCH, FILE_NOT_SIGNED, FILE_MISSING, KEY_UNKNOWN, ALGORITHM_MISMATCH, ...);
2 bad usage or unreadable files`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals: positional } = parseCli(
    argv,
    { key: { type: "string", multiple: true }, "key-id": { type: "string" }, scope: { type: "string" } },
    { positionals: true },
  );
  const keySpecs = values.key ?? [];
  const keyId = values["key-id"] ?? "default";
  const scope = values.scope;
  if (positional.length !== 1) throw new UsageError("expected exactly one <bundle.tar.gz>");
  if (keySpecs.length === 0) throw new UsageError("--key <public.pem> is required");
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const keys: Record<string, ReturnType<typeof readPublicKey> & { scope?: string }> = {};
  for (const spec of keySpecs) {
    const m = /^([^=/]+)=(.+)$/.exec(spec);
    const [id, path] = m ? [m[1], m[2]] : [keyId, spec];
    try {
      keys[id] = { ...readPublicKey(read(path, "key"), path), scope };
    } catch (err) {
      if (err instanceof BundleError) throw new UsageError(err.message);
      throw err;
    }
  }
  const verified = await verifyBundle(read(positional[0], "bundle"), { keys });
  process.stdout.write(
    `policy:verify: OK ${positional[0]}: ${verified.files.size} files signed by key '${verified.keyId}' (${verified.algorithm})\n`,
  );
  return 0;
}

// An invalid bundle is 1 ("<CODE>: <message>"); a key file that is not a key is bad usage (2).
void runCli({ tool: "policy:verify", usage, main });
