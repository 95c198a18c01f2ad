// `npm run -s policy:sign -- --key <private.pem> --out <signed.tar.gz> [--bundle <in.tar.gz>]
//  [--key-id ID] [--scope S]`: signs a bundle in OPA's format (.signatures.json, one JWS over the
// file digests), RS256 for RSA keys and ES256 for P-256 keys, so `opa --verification-key` accepts it.
import { readFileSync, writeFileSync } from "node:fs";
import { shippedBundlePath } from "../../policy-engine/bundle";
import { BundleError } from "../../policy-engine/errors";
import { readPrivateKey } from "../../policy-engine/keys";
import { signBundle } from "../../policy-engine/sign";
import { parseCli, runCli, UsageError } from "../../lib/cli";

const usage = `usage: npm run -s policy:sign -- --key <private.pem> --out <signed.tar.gz> [options]

Signs a policy bundle (default policies/dist/bundle.tar.gz) in OPA's bundle-signing format.
  --key FILE      PEM private key: RSA (RS256, >= 2048 bits) or EC P-256 (ES256) / P-384 (ES384)
  --out FILE      where to write the signed bundle
  --bundle FILE   bundle to sign (default policies/dist/bundle.tar.gz)
  --key-id ID     JWS kid (default "default", what opa's --verification-key-id expects by default)
  --scope S       scope claim (default none)
exit: 0 signed, 1 signing failed, 2 bad usage or unreadable input`;

async function main(argv: string[]): Promise<number> {
  const { values: o } = parseCli(argv, {
    key: { type: "string" },
    out: { type: "string" },
    bundle: { type: "string" },
    "key-id": { type: "string" },
    scope: { type: "string" },
  });
  if (!o.key) throw new UsageError("--key <private.pem> is required");
  if (!o.out) throw new UsageError("--out <signed.tar.gz> is required");
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const { key, algorithm } = readPrivateKey(read(o.key, "key"), o.key);
  const bundlePath = o.bundle ?? shippedBundlePath;
  const signed = await signBundle(read(bundlePath, "bundle"), { privateKey: key, algorithm, keyId: o["key-id"], scope: o.scope });
  writeFileSync(o.out, signed);
  process.stdout.write(`policy:sign: ${o.out} (${algorithm}, kid ${o["key-id"] ?? "default"}) from ${bundlePath}\n`);
  return 0;
}

// An unusable key or an unreadable bundle is bad input (2); any other signing failure is 1.
void runCli({
  tool: "policy:sign",
  usage,
  main,
  exitCode: (err) => (err instanceof BundleError && (err.code === "KEY_INVALID" || err.code === "BUNDLE_UNREADABLE") ? 2 : 1),
});
