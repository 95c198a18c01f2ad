// Signed policy bundles: OPA's format both ways with the real opa, stable error codes for every
// way a bundle can be wrong, and >= 1000 random single-byte mutations all rejected.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync, gunzipSync } from "node:zlib";
import { shippedBundlePath } from "../../../policy-engine/bundle";
import { BundleError, type BundleErrorCode } from "../../../policy-engine/errors";
import { fileDigest } from "../../../policy-engine/hash";
import { signBundle } from "../../../policy-engine/sign";
import { readTarGz, writeTarGz } from "../../../policy-engine/tar";
import { verifyBundle, type VerifyOptions } from "../../../policy-engine/verify";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";

const pem = (k: KeyObject, type: "pkcs8" | "spki") => k.export({ format: "pem", type }) as string;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const otherRsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const shipped = readFileSync(shippedBundlePath);

const rsaKeys: VerifyOptions = { keys: { default: { key: rsa.publicKey, algorithm: "RS256" } } };
const ecKeys: VerifyOptions = { keys: { default: { key: ec.publicKey, algorithm: "ES256" } } };

async function codeOf(promise: Promise<unknown>): Promise<BundleErrorCode | "OK"> {
  try {
    await promise;
    return "OK";
  } catch (err) {
    if (err instanceof BundleError) return err.code;
    throw err;
  }
}

let signedRsa: Buffer;
let signedEc: Buffer;
beforeAll(async () => {
  signedRsa = await signBundle(shipped, { privateKey: rsa.privateKey, algorithm: "RS256" });
  signedEc = await signBundle(shipped, { privateKey: ec.privateKey, algorithm: "ES256" });
});

const files = (archive: Buffer) => readTarGz(archive);
const rebuild = (archive: Buffer, edit: (f: ReturnType<typeof files>) => ReturnType<typeof files>) => writeTarGz(edit(files(archive)));

describe("signing and verifying in OPA's format", () => {
  test("a bundle signed with RS256 or ES256 verifies with its public key, every file signed", async () => {
    const rsaResult = await verifyBundle(signedRsa, rsaKeys);
    const ecResult = await verifyBundle(signedEc, ecKeys);
    const shippedNames = files(shipped).map((f) => f.name.replace(/^\//, ""));
    expect([...rsaResult.files.keys()].sort()).toEqual(shippedNames.sort());
    expect(rsaResult).toMatchObject({ keyId: "default", algorithm: "RS256" });
    expect(ecResult).toMatchObject({ keyId: "default", algorithm: "ES256" });
  });

  test("the signature payload lists every file with its SHA-256 digest, as OPA writes it", () => {
    const sigs = JSON.parse(
      files(signedRsa)
        .find((f) => f.name === "/.signatures.json")!
        .data.toString(),
    ) as { signatures: string[] };
    const [header, payload] = sigs.signatures[0]
      .split(".")
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
    expect(header).toEqual({ alg: "RS256", kid: "default", typ: "JWT" });
    expect(payload.keyid).toBe("default");
    for (const f of files(shipped)) {
      const name = f.name.replace(/^\//, "");
      expect(payload.files).toContainEqual({ name, hash: fileDigest(name, f.data, "SHA-256"), algorithm: "SHA-256" });
    }
  });

  test("structured files hash like OPA's: key order and whitespace do not matter, number spelling does", () => {
    const a = fileDigest("data.json", Buffer.from('{"b":[1.50,"x\\u2028"],"a":true}'), "SHA-256");
    expect(fileDigest("data.json", Buffer.from('{ "a": true,\n "b": [1.50, "x\u2028"] }'), "SHA-256")).toBe(a);
    expect(fileDigest("data.json", Buffer.from('{"a":true,"b":[1.5,"x\\u2028"]}'), "SHA-256")).not.toBe(a);
    expect(fileDigest("policy.wasm", Buffer.from("{}"), "SHA-256")).toBe(
      "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
  });
});

describe("a bundle is rejected with a stable code", () => {
  test.each<[string, () => Promise<Buffer>, VerifyOptions, BundleErrorCode]>([
    ["unsigned (the shipped bundle as built) → BUNDLE_UNSIGNED", async () => shipped, rsaKeys, "BUNDLE_UNSIGNED"],
    [
      "signature removed → BUNDLE_UNSIGNED",
      async () => rebuild(signedRsa, (fs) => fs.filter((f) => f.name !== "/.signatures.json")),
      rsaKeys,
      "BUNDLE_UNSIGNED",
    ],
    [
      "a file added → FILE_NOT_SIGNED",
      async () => rebuild(signedRsa, (fs) => [...fs, { name: "/extra/policy.rego", data: Buffer.from("package extra\n") }]),
      rsaKeys,
      "FILE_NOT_SIGNED",
    ],
    [
      "a file replaced → FILE_HASH_MISMATCH",
      async () =>
        rebuild(signedRsa, (fs) =>
          fs.map((f) => (f.name === "/policy.wasm" ? { ...f, data: Buffer.concat([f.data, Buffer.from([0])]) } : f)),
        ),
      rsaKeys,
      "FILE_HASH_MISMATCH",
    ],
    [
      "data.json changed → FILE_HASH_MISMATCH",
      async () => rebuild(signedRsa, (fs) => fs.map((f) => (f.name === "/data.json" ? { ...f, data: Buffer.from("{}") } : f))),
      rsaKeys,
      "FILE_HASH_MISMATCH",
    ],
    [
      "a signed file removed → FILE_MISSING",
      async () => rebuild(signedRsa, (fs) => fs.filter((f) => f.name !== "/.manifest")),
      rsaKeys,
      "FILE_MISSING",
    ],
    [
      "signed by another key → SIGNATURE_INVALID",
      async () => signBundle(shipped, { privateKey: otherRsa.privateKey, algorithm: "RS256" }),
      rsaKeys,
      "SIGNATURE_INVALID",
    ],
    ["signed with ES256 for an RS256 key → ALGORITHM_MISMATCH", async () => signedEc, rsaKeys, "ALGORITHM_MISMATCH"],
    [
      "signed under an unknown key id → KEY_UNKNOWN",
      async () => signBundle(shipped, { privateKey: rsa.privateKey, algorithm: "RS256", keyId: "ci-2024" }),
      rsaKeys,
      "KEY_UNKNOWN",
    ],
    [
      "signed with a scope the key does not expect → SCOPE_MISMATCH",
      async () => signBundle(shipped, { privateKey: rsa.privateKey, algorithm: "RS256", scope: "write" }),
      rsaKeys,
      "SCOPE_MISMATCH",
    ],
    ["not a gzip'd tar → BUNDLE_UNREADABLE", async () => Buffer.from("hello"), rsaKeys, "BUNDLE_UNREADABLE"],
    [
      ".signatures.json with two JWTs → SIGNATURES_MALFORMED",
      async () =>
        rebuild(signedRsa, (fs) =>
          fs.map((f) => {
            if (f.name !== "/.signatures.json") return f;
            const jws = (JSON.parse(f.data.toString()) as { signatures: string[] }).signatures[0];
            return { ...f, data: Buffer.from(JSON.stringify({ signatures: [jws, jws] })) };
          }),
        ),
      rsaKeys,
      "SIGNATURES_MALFORMED",
    ],
  ])("%s", async (_what, make, options, code) => {
    expect(await codeOf(verifyBundle(await make(), options))).toBe(code);
  });
});

const sameContent = (a: Buffer, b: Buffer) => {
  try {
    return gunzipSync(a).equals(gunzipSync(b));
  } catch {
    return false;
  }
};

// mulberry32: a small seeded PRNG, so a failure names a reproducible mutation.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("every one of 1200 random single-byte mutations of a signed bundle is rejected", async () => {
  const random = prng(0x5eed);
  const accepted: string[] = [];
  const codes = new Map<string, number>();
  for (let i = 0; i < 1200; i++) {
    const position = Math.floor(random() * signedRsa.length);
    const delta = 1 + Math.floor(random() * 255);
    const mutated = Buffer.from(signedRsa);
    mutated[position] = (mutated[position] + delta) % 256;
    const code = await codeOf(verifyBundle(mutated, rsaKeys));
    // Some deflate bits do not reach the output (a mutation there leaves every file as it was, and
    // the signature covers the files): accepting those is right; accepting any other is a defect.
    if (code === "OK" && !sameContent(mutated, signedRsa)) accepted.push(`byte ${position} += ${delta}`);
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  expect(accepted).toEqual([]);
  expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(1200);
  expect(codes.get("BUNDLE_UNREADABLE")).toBeGreaterThan(0);
});

test("300 random single-byte mutations inside the tar (headers, padding, signature, contents) are rejected", async () => {
  // Most archive mutations break gzip; these reach the tar and the signature itself. Stored
  // (level 0) deflate keeps re-wrapping cheap.
  const tar = gunzipSync(signedRsa);
  const regzip = (raw: Buffer) => {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(raw), 0);
    trailer.writeUInt32LE(raw.length, 4);
    return Buffer.concat([Buffer.from("1f8b08000000000000ff", "hex"), deflateRawSync(raw, { level: 0 }), trailer]);
  };
  expect(await codeOf(verifyBundle(regzip(tar), rsaKeys))).toBe("OK");
  const random = prng(42);
  const accepted: string[] = [];
  for (let i = 0; i < 300; i++) {
    const position = Math.floor(random() * tar.length);
    const mutated = Buffer.from(tar);
    mutated[position] = (mutated[position] + 1 + Math.floor(random() * 255)) % 256;
    if ((await codeOf(verifyBundle(regzip(mutated), rsaKeys))) === "OK") accepted.push(`tar byte ${position}`);
  }
  expect(accepted).toEqual([]);
});

const opa = findBinary("opa");
describeWithService("interop with the real opa", opa ? undefined : "opa (tools/install/tools.sh opa)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "maestro-opa-interop-"));
    writeFileSync(join(dir, "rsa.pem"), pem(rsa.privateKey, "pkcs8"));
    writeFileSync(join(dir, "rsa.pub"), pem(rsa.publicKey, "spki"));
    writeFileSync(join(dir, "ec.pem"), pem(ec.privateKey, "pkcs8"));
    writeFileSync(join(dir, "ec.pub"), pem(ec.publicKey, "spki"));
    // Data whose structured hash depends on number spelling and Go's string escaping.
    mkdirSync(join(dir, "src", "interop"), { recursive: true });
    writeFileSync(join(dir, "src", "interop", "policy.rego"), "package interop\n\nallow if input.user == data.interop.admin\n");
    writeFileSync(join(dir, "src", "interop", "data.json"), '{"admin":"alice","limit":1.50,"note":"line\\u2028sep <&>"}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => spawnSync(opa!, args, { cwd: dir, encoding: "utf8" });

  test.each([
    ["RS256", "rsa", rsaKeys],
    ["ES256", "ec", ecKeys],
  ] as const)("a bundle signed by `opa build --signing-key` (%s) verifies in ours", async (alg, key, keys) => {
    const out = join(dir, `opa-${key}.tar.gz`);
    const r = spawnSync(opa!, ["build", "-b", ".", "--signing-key", `../${key}.pem`, "--signing-alg", alg, "-o", out], {
      cwd: join(dir, "src"),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    const verified = await verifyBundle(readFileSync(out), keys);
    expect([...verified.files.keys()].sort()).toEqual([".manifest", "data.json", "interop/policy.rego"]);
  });

  test.each([
    ["RS256", "rsa"],
    ["ES256", "ec"],
  ] as const)("our %s signature of the shipped bundle verifies in opa, and a tampered copy does not", async (alg, key) => {
    const signed = alg === "RS256" ? signedRsa : signedEc;
    writeFileSync(join(dir, `ours-${key}.tar.gz`), signed);
    const ok = run([
      "build",
      "-b",
      `ours-${key}.tar.gz`,
      "--verification-key",
      `${key}.pub`,
      "--signing-alg",
      alg,
      "-o",
      "verified.tar.gz",
    ]);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);

    const tampered = rebuild(signed, (fs) => fs.map((f) => (f.name === "/data.json" ? { ...f, data: Buffer.from('{"maestro":{}}') } : f)));
    writeFileSync(join(dir, `tampered-${key}.tar.gz`), tampered);
    const bad = run(["build", "-b", `tampered-${key}.tar.gz`, "--verification-key", `${key}.pub`, "--signing-alg", alg, "-o", "x.tar.gz"]);
    expect(bad.status).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/data\.json: digest mismatch/);
  });
});
