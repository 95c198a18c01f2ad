import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { canonicalJson } from "../../../app/audit/canonical";
import type { SignedPack } from "../../../app/export/pack";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { seedPglite } from "../../../harness/pglite-template";

// The real cosign (v2.6.5, built from the Go proxy by tools/install/tools.sh cosign) checks the
// service's pack signature in its own key-based blob format. cosign reaches for its TUF update
// server even with --insecure-ignore-tlog, so it runs inside `unshare -n` (no network at all):
// a pass here is an offline verification, nothing fetched.

const cosign = findBinary("cosign");
const unshare = findBinary("unshare");
const missing = !cosign ? "cosign (tools/install/tools.sh cosign)" : !unshare ? "unshare (util-linux)" : undefined;

describeWithService("the real cosign verifies a pack signed by the service with the fleet key (offline)", missing, () => {
  let dir: string;
  let service: BuiltService;
  let keyFile: string;
  let signed: SignedPack;

  const verifyBlob = (blob: Buffer, signatureBase64: string) => {
    const work = mkdtempSync(join(dir, "cosign-"));
    writeFileSync(join(work, "pack.blob"), blob);
    writeFileSync(join(work, "pack.sig"), signatureBase64);
    const run = spawnSync(
      unshare!,
      [
        "-n",
        cosign!,
        "verify-blob",
        "--key",
        keyFile,
        "--signature",
        join(work, "pack.sig"),
        "--insecure-ignore-tlog=true",
        join(work, "pack.blob"),
      ],
      { encoding: "utf8", env: { ...process.env, HOME: work, TUF_ROOT: join(work, "tuf") }, timeout: 60_000 },
    );
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-cosign-"));
    await seedPglite(dir);
    // The fleet key, as the app stack passes it from the Secret compliance-audit-signing.
    const fleetKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, AUDIT_SIGNING_KEY_PEM: fleetKey }), { logger: false });
    for (let i = 0; i < 5; i++)
      await service.context.audit.append({ type: "auth.login", actor: `user-${i}`, details: { i, note: "ünïcode ✓" } });
    const token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    const headers = { authorization: `Bearer ${token}`, "x-rfa": "cosign check" };
    const key = await service.server.inject({ url: "/api/compliance/export/key", headers });
    expect(key.statusCode).toBe(200);
    keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, key.body);
    const pack = await service.server.inject({ url: "/api/compliance/export/signed", headers });
    expect(pack.statusCode).toBe(200);
    signed = pack.json();
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("cosign verify-blob --key K --signature S --insecure-ignore-tlog=true accepts the pack's canonical bytes", () => {
    const result = verifyBlob(Buffer.from(canonicalJson(signed.pack), "utf8"), signed.signature.value);
    expect(result.output).toContain("Verified OK");
    expect(result.status).toBe(0);
  });

  test("cosign refuses the same signature over a tampered pack (one entry's actor changed)", () => {
    const tampered = JSON.parse(JSON.stringify(signed.pack)) as SignedPack["pack"];
    tampered.audit.entries[2].actor = "mallory";
    const result = verifyBlob(Buffer.from(canonicalJson(tampered), "utf8"), signed.signature.value);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/invalid signature/i);
  });
});
