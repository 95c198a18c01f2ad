// The service's policy runtime: "with ALLOW_UNSIGNED_POLICY=false an unsigned or tampered bundle is
// refused, the refusal is logged and audited, and the last good bundle stays in force".
import { createHash, generateKeyPairSync } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shippedBundlePath } from "../../../policy-engine/bundle";
import { normalizeStack, policyParameters } from "../../../policy-engine/input";
import { startPolicyRuntime } from "../../../app/policy/runtime";
import { readPolicySettings } from "../../../app/policy/settings";
import { signBundle } from "../../../policy-engine/sign";
import { readTarGz, writeTarGz } from "../../../policy-engine/tar";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings, SettingsError } from "../../../app/settings";
import type { AuditEntry, AuditEventInput, AuditLog } from "../../../app/audit/types";
import { loadEnvironment } from "../../../config/load";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { waitFor } from "../../../lib/net";
import { startServiceProcess } from "../../../harness/service-process";
import { seedPglite } from "../../../harness/pglite-template";

const keys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const shipped = readFileSync(shippedBundlePath);
let dir: string;
let signed: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-policy-runtime-"));
  writeFileSync(join(dir, "key.pub"), keys.publicKey.export({ format: "pem", type: "spki" }) as string);
  signed = await signBundle(shipped, { privateKey: keys.privateKey, algorithm: "ES256" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryAudit(): AuditLog & { events: AuditEventInput[] } {
  const events: AuditEventInput[] = [];
  return {
    events,
    append: async (e) => (events.push(e), { ...e, id: events.length, at: "", prevHash: "", hash: "" }) as AuditEntry,
    list: async () => [],
  };
}
const quiet = { info: () => undefined, warn: () => undefined, error: jest.fn() };
const tampered = (bundle: Buffer) =>
  writeTarGz(
    readTarGz(bundle).map((f) => (f.name === "/data.json" ? { ...f, data: Buffer.from('{"maestro":{"catalog":{"rules":[]}}}') } : f)),
  );

function settings(bundle: string, env: Record<string, string> = {}) {
  return readPolicySettings({ POLICY_BUNDLE_PATH: join(dir, bundle), POLICY_VERIFICATION_KEY: join(dir, "key.pub"), ...env }, dir);
}

test("ALLOW_UNSIGNED_POLICY defaults to false and accepts only true or false", () => {
  expect(readPolicySettings({}, dir)).toMatchObject({ allowUnsigned: false, keyId: "default", bundleConfigured: false });
  expect(() => readPolicySettings({ ALLOW_UNSIGNED_POLICY: "yes" }, dir)).toThrow(SettingsError);
  expect(() => readPolicySettings({ ALLOW_UNSIGNED_POLICY: "yes" }, dir)).toThrow(
    /^ALLOW_UNSIGNED_POLICY: must be 'true' or 'false' \(got 'yes'\)$/,
  );
});

test("a signed bundle loads, is audited as policy.bundle.loaded, and evaluates", async () => {
  writeFileSync(join(dir, "a.tar.gz"), signed);
  const audit = memoryAudit();
  const runtime = await startPolicyRuntime(settings("a.tar.gz"), quiet, audit);
  expect(audit.events.map((e) => e.type)).toEqual(["policy.bundle.loaded"]);
  expect(audit.events[0].details).toMatchObject({ signed: true, keyId: "default", revision: expect.stringMatching(/^sha256:/) });
  const result = runtime.current()!.evaluate(normalizeStack("mesh", {}, policyParameters(loadEnvironment("staging"))));
  expect([...new Set(result.deny.map((v) => v.rule))].sort()).toEqual(["MAESTRO-MESH-002", "MAESTRO-MESH-004"]);
});

test("unsigned bundle is rejected when ALLOW_UNSIGNED_POLICY=false; tampered too; the last good bundle stays in force", async () => {
  const path = join(dir, "b.tar.gz");
  writeFileSync(path, signed);
  const audit = memoryAudit();
  const runtime = await startPolicyRuntime(settings("b.tar.gz"), quiet, audit);
  const good = runtime.info()!;

  writeFileSync(path, shipped);
  expect(await runtime.reload()).toEqual({ refused: { code: "BUNDLE_UNSIGNED", message: expect.any(String) } });
  writeFileSync(path, tampered(signed));
  expect(await runtime.reload()).toEqual({ refused: { code: "FILE_HASH_MISMATCH", message: expect.any(String) } });
  expect(runtime.info()).toEqual(good);
  expect(runtime.current()).toBeDefined();

  expect(audit.events.map((e) => [e.type, e.details?.code])).toEqual([
    ["policy.bundle.loaded", undefined],
    ["policy.bundle.refused", "BUNDLE_UNSIGNED"],
    ["policy.bundle.refused", "FILE_HASH_MISMATCH"],
  ]);
  expect(audit.events[2].details).toMatchObject({ inForce: good.revision, bundle: path });
  expect(quiet.error).toHaveBeenCalledWith(expect.objectContaining({ code: "FILE_HASH_MISMATCH" }), "policy bundle refused");
});

test("ALLOW_UNSIGNED_POLICY=true loads an unsigned bundle, but never a tampered signed one", async () => {
  writeFileSync(join(dir, "c.tar.gz"), shipped);
  const audit = memoryAudit();
  const runtime = await startPolicyRuntime(settings("c.tar.gz", { ALLOW_UNSIGNED_POLICY: "true" }), quiet, audit);
  expect(runtime.info()).toMatchObject({ signed: false });
  writeFileSync(join(dir, "c.tar.gz"), tampered(signed));
  expect(await runtime.reload()).toMatchObject({ refused: { code: "FILE_HASH_MISMATCH" } });
});

test("a bundle signed by another key is refused at start: nothing is in force", async () => {
  const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  writeFileSync(join(dir, "d.tar.gz"), await signBundle(shipped, { privateKey: other.privateKey, algorithm: "ES256" }));
  const audit = memoryAudit();
  const runtime = await startPolicyRuntime(settings("d.tar.gz"), quiet, audit);
  expect(runtime.current()).toBeUndefined();
  expect(audit.events).toEqual([
    expect.objectContaining({
      type: "policy.bundle.refused",
      details: expect.objectContaining({ code: "SIGNATURE_INVALID", inForce: null }),
    }),
  ]);
});

describe("the compliance service loads its bundle at start", () => {
  let service: BuiltService;
  beforeAll(async () => {
    copyFileSync(shippedBundlePath, join(dir, "unsigned.tar.gz"));
    await seedPglite(join(dir, "data"));
    const env = {
      MAESTRO_DATA_DIR: join(dir, "data"),
      POLICY_BUNDLE_PATH: join(dir, "unsigned.tar.gz"),
      POLICY_VERIFICATION_KEY: join(dir, "key.pub"),
    };
    service = await buildService(readServiceSettings(env), { logger: false });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
  });

  test("an unsigned bundle is refused into the hash-chained audit log; a signed one then loads on reload", async () => {
    expect(service.context.policy.current()).toBeUndefined();
    // GET /healthz/policy: 503 while no bundle is in force, then the signed bundle's revision and digest.
    const refused = await service.server.inject({ method: "GET", url: "/healthz/policy" });
    expect([refused.statusCode, refused.json()]).toEqual([
      503,
      { loaded: false, signed: false, allowUnsigned: false, revision: null, sha256: null, keyId: null, loadedAt: null },
    ]);
    writeFileSync(join(dir, "unsigned.tar.gz"), signed);
    expect(await service.context.policy.reload()).toMatchObject({ loaded: { signed: true } });
    const loaded = await service.server.inject({ method: "GET", url: "/healthz/policy" });
    expect(loaded.statusCode).toBe(200);
    expect(loaded.json()).toEqual({
      loaded: true,
      signed: true,
      allowUnsigned: false,
      revision: service.context.policy.info()!.revision,
      sha256: createHash("sha256").update(signed).digest("hex"),
      keyId: "default",
      loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const entries = (await service.context.audit.list()).filter((e) => e.type.startsWith("policy.bundle."));
    expect(entries.map((e) => [e.type, e.actor, e.details?.code])).toEqual([
      ["policy.bundle.refused", "system", "BUNDLE_UNSIGNED"],
      ["policy.bundle.loaded", "system", undefined],
    ]);
  });
});

describe("the running service re-reads its bundle on SIGHUP", () => {
  test("refused at start, loaded after the signed bundle is put in place and the process gets SIGHUP", async () => {
    const data = join(dir, "sighup-data");
    await seedPglite(data);
    const bundle = join(dir, "sighup.tar.gz");
    copyFileSync(shippedBundlePath, bundle);
    const service = await startServiceProcess({
      dataDir: data,
      env: { POLICY_BUNDLE_PATH: bundle, POLICY_VERIFICATION_KEY: join(dir, "key.pub") },
      timeoutMs: 90_000,
    });
    try {
      const token = await mintDevToken(data, { subject: "auditor-1", groups: ["auditors"] });
      const bundleEvents = async () => {
        const res = await fetch(`${service.base}/api/compliance/audit?limit=1000`, {
          headers: { authorization: `Bearer ${token}`, "x-rfa": "SIGHUP test" },
        });
        const { entries } = (await res.json()) as { entries: AuditEntry[] };
        return entries.filter((e) => e.type.startsWith("policy.bundle.")).map((e) => [e.type, e.details?.code ?? e.details?.signed]);
      };
      expect(await bundleEvents()).toEqual([["policy.bundle.refused", "BUNDLE_UNSIGNED"]]);
      writeFileSync(bundle, signed);
      service.child.kill("SIGHUP");
      await waitFor("the reload", async () => (await bundleEvents()).length === 2, 10_000, 50);
      expect(await bundleEvents()).toEqual([
        ["policy.bundle.refused", "BUNDLE_UNSIGNED"],
        ["policy.bundle.loaded", true],
      ]);
      expect(service.child.exitCode).toBeNull();
    } finally {
      await service.stop();
    }
    expect(service.stderr()).not.toMatch(/fatal/);
  }, 120_000);
});

/**
 * A gzip bomb in the exact header OPA writes: `mib` MiB of zeros from a ~1 KiB deflate segment
 * repeated (each segment ends on a sync flush and refers only to its own zeros), so it is built
 * without ever holding the zeros.
 */
function zeroBomb(mib: number, claimedSize = mib * 1024 * 1024): Buffer {
  const { constants, crc32, deflateRawSync } = require("node:zlib") as typeof import("node:zlib");
  const zeros = Buffer.alloc(1024 * 1024);
  const segment = deflateRawSync(zeros, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const final = Buffer.from([0x03, 0x00]); // an empty final fixed-Huffman block
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(claimedSize % 2 ** 32, 4);
  return Buffer.concat([Buffer.from("1f8b08000000000000ff", "hex"), ...Array.from({ length: mib }, () => segment), final, trailer]);
}

/** CPU milliseconds (this process) and wall milliseconds that fn took. */
function timed(fn: () => unknown): { cpuMs: number; wallMs: number } {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  fn();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: Number(process.hrtime.bigint() - wall) / 1e6 };
}

describe("a gzip bomb (1.5 GiB of zeros in a ~1.5 MB .tar.gz) is refused as BUNDLE_TOO_LARGE in at most 100 ms", () => {
  // Honest: its trailer says 1.5 GiB. Lying: its trailer says 0 bytes, so only the inflate bound stops it.
  const honest = zeroBomb(1536);
  const lying = zeroBomb(1536, 0);

  test("both are real gzip streams that would unpack far past the limit", async () => {
    expect(honest.length).toBeLessThan(2 * 1024 * 1024);
    const { createGunzip } = require("node:zlib") as typeof import("node:zlib");
    const unpacked = await new Promise<number>((resolve) => {
      let n = 0;
      const gunzip = createGunzip();
      gunzip.on("data", (d: Buffer) => {
        n += d.length;
        if (n <= 64 * 1024 * 1024) return;
        gunzip.destroy();
        resolve(n);
      });
      gunzip.end(lying);
    });
    expect(unpacked).toBeGreaterThan(64 * 1024 * 1024);
  });

  test.each([
    ["honest", () => honest],
    ["lying", () => lying],
  ])("%s: readTarGz refuses it within 100 ms of CPU", (_name, bomb) => {
    let error: unknown;
    const took = timed(() => {
      try {
        readTarGz(bomb());
      } catch (err) {
        error = err;
      }
    });
    // CPU time, not wall time: the machine running the suite is shared; wall time is printed.
    process.stdout.write(`gzip bomb (${_name}): refused after ${took.cpuMs.toFixed(1)} ms CPU, ${took.wallMs.toFixed(1)} ms wall\n`);
    expect(error).toMatchObject({ code: "BUNDLE_TOO_LARGE" });
    expect(took.cpuMs).toBeLessThanOrEqual(100);
  });

  test("the service's policy runtime refuses and audits it", async () => {
    writeFileSync(join(dir, "bomb.tar.gz"), lying);
    const audit = memoryAudit();
    const runtime = await startPolicyRuntime(settings("bomb.tar.gz"), quiet, audit);
    const outcome = await runtime.reload();
    expect(outcome).toEqual({
      refused: { code: "BUNDLE_TOO_LARGE", message: expect.stringMatching(/unpacks to more than 16777216 bytes/) },
    });
    expect(audit.events.map((e) => e.details?.code)).toEqual(["BUNDLE_TOO_LARGE", "BUNDLE_TOO_LARGE"]);
  });
});

test("POLICY_BUNDLE_MAX_BYTES bounds the archive file itself, and is bounded", async () => {
  writeFileSync(join(dir, "big.tar.gz"), Buffer.alloc(2 * 1024 * 1024));
  const audit = memoryAudit();
  await startPolicyRuntime(settings("big.tar.gz", { POLICY_BUNDLE_MAX_BYTES: String(1024 * 1024) }), quiet, audit);
  expect(audit.events[0].details).toMatchObject({ code: "BUNDLE_TOO_LARGE" });
  expect(() => readPolicySettings({ POLICY_BUNDLE_MAX_BYTES: "10" }, dir)).toThrow(
    /^POLICY_BUNDLE_MAX_BYTES: must be an integer 1048576-1073741824/,
  );
});
