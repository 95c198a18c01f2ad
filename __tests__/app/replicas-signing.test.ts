import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { verifySignedPack } from "../../app/export/verify";
import { readServiceSettings, SettingsError } from "../../app/settings";
import { describeWithService } from "../support/services";
import { postgresMissing } from "../../harness/postgres";
import { startFleet, type Fleet } from "../../harness/replicas";

// One signing key for the fleet (the app stack's Secret, as AUDIT_SIGNING_KEY_PEM): a pack from any
// replica verifies against the key any replica serves, and after a rotation the retired key is
// still served, so packs signed before it still verify.

const repo = join(__dirname, "..", "..");
const newKey = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
};

describe("the fleet signing key settings", () => {
  test("production refuses to start without AUDIT_SIGNING_KEY_PEM (a key per pod verifies against one pod only)", () => {
    expect(() => readServiceSettings({ MAESTRO_ENVIRONMENT: "production", OIDC_ISSUER: "https://sso.maestro.example" })).toThrow(
      /^AUDIT_SIGNING_KEY_PEM: is required in production/,
    );
  });
  test("a key that is not a P-256 private key is refused naming the variable", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(() => readServiceSettings({ AUDIT_SIGNING_KEY_PEM: rsa })).toThrow(SettingsError);
    expect(() => readServiceSettings({ AUDIT_SIGNING_KEY_PEM: rsa })).toThrow(/^AUDIT_SIGNING_KEY_PEM: must be a PKCS#8 PEM ECDSA P-256/);
    expect(() => readServiceSettings({ AUDIT_SIGNING_KEY_PEM: "not a key" })).toThrow(/^AUDIT_SIGNING_KEY_PEM:/);
    expect(() => readServiceSettings({ AUDIT_SIGNING_RETIRED_KEYS_PEM: "junk" })).toThrow(
      /^AUDIT_SIGNING_RETIRED_KEYS_PEM: must hold PEM public keys/,
    );
  });
});

describeWithService("one signing key for the fleet, with rotation (2 replicas on Postgres 15)", postgresMissing, () => {
  let fleet: Fleet;
  let token: string;
  let dir: string;
  const first = newKey();
  const second = newKey();

  const get = async (replica: number, path: string) => {
    const res = await fetch(`${fleet.replica(replica).base}${path}`, {
      headers: { authorization: `Bearer ${token}`, "x-rfa": "signing replica test" },
    });
    if (res.status !== 200) throw new Error(`${path} on replica ${replica} answered ${res.status}: ${await res.text()}`);
    return res;
  };
  const pack = async (replica: number) => (await (await get(replica, "/api/compliance/export/signed")).json()) as unknown;
  const keyBundle = async (replica: number) => {
    const res = await get(replica, "/api/compliance/export/key");
    return { pem: await res.text(), current: res.headers.get("x-key-id"), ids: (res.headers.get("x-key-ids") ?? "").split(",") };
  };
  const verifyCli = async (doc: unknown, keyPem: string) => {
    const packFile = join(dir, `pack-${Math.random().toString(36).slice(2)}.json`);
    const keyFile = `${packFile}.key.pem`;
    writeFileSync(packFile, JSON.stringify(doc));
    writeFileSync(keyFile, keyPem);
    return promisify(execFile)(process.execPath, ["-r", "./tools/register.js", "tools/verify-export/main.ts", packFile, "--key", keyFile], {
      cwd: repo,
    }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-fleet-signing-"));
    fleet = await startFleet({ replicas: 2, env: { AUDIT_SIGNING_KEY_PEM: first.privatePem } });
    token = await fleet.token({ subject: "auditor-1", groups: ["auditors"] });
  }, 300_000);
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let before: unknown;

  test("a pack from either replica verifies against the key the other serves", async () => {
    const fromZero = await pack(0);
    const fromOne = await pack(1);
    const keysZero = await keyBundle(0);
    const keysOne = await keyBundle(1);
    expect(keysZero.current).toBe(keysOne.current);
    expect(keysZero.ids).toEqual([keysZero.current]);
    expect(verifySignedPack(fromZero, keysOne.pem)).toMatchObject({ ok: true });
    expect(verifySignedPack(fromOne, keysZero.pem)).toMatchObject({ ok: true });
    expect(await verifyCli(fromZero, keysOne.pem)).toBe(0);
    before = fromOne;
  }, 120_000);

  test("rotation: the new key signs, /export/key serves it and the retired one, and packs from before still verify", async () => {
    for (let i = 0; i < fleet.size; i++) {
      await fleet.killReplica(i);
      await fleet.startReplica(i, { AUDIT_SIGNING_KEY_PEM: second.privatePem, AUDIT_SIGNING_RETIRED_KEYS_PEM: first.publicPem });
    }
    const after = await pack(1);
    const bundle = await keyBundle(0);
    expect(bundle.ids).toHaveLength(2);
    expect(bundle.ids[0]).toBe(bundle.current);
    expect((after as { signature: { keyId: string } }).signature.keyId).toBe(bundle.current);
    expect((before as { signature: { keyId: string } }).signature.keyId).toBe(bundle.ids[1]);
    expect(verifySignedPack(after, bundle.pem)).toMatchObject({ ok: true });
    expect(verifySignedPack(before, bundle.pem)).toMatchObject({ ok: true });
    expect(await verifyCli(before, bundle.pem)).toBe(0);
    // Without the retired key the old pack is refused, naming why.
    expect(verifySignedPack(before, second.publicPem)).toMatchObject({
      ok: false,
      failures: expect.arrayContaining([expect.objectContaining({ code: "KEY_MISMATCH" })]),
    });
    expect(await verifyCli(before, second.publicPem)).not.toBe(0);
  }, 300_000);
});
