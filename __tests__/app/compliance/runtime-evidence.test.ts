// The evidence that the policy runtime and the SCIM sync give the controls: a signed bundle and a
// recent successful sync pass; an unsigned bundle or a failed sync fail; nothing yet is unknown.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shippedBundlePath } from "../../../policy-engine/bundle";
import { bundleSignatureProbe } from "../../../app/policy/evidence";
import { startPolicyRuntime } from "../../../app/policy/runtime";
import { readPolicySettings } from "../../../app/policy/settings";
import { signBundle } from "../../../policy-engine/sign";
import { buildComplianceReport } from "../../../app/compliance/report";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { seedPglite } from "../../../harness/pglite-template";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let dir: string;
let service: BuiltService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-runtime-evidence-"));
  await seedPglite(dir);
  service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
}, 120_000);
afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

const controlEvidence = async (controlId: string, source: string) => {
  const report = await buildComplianceReport(service.context, { fresh: true });
  const control = report.controls.find((c) => c.id === controlId)!;
  return control.evidence.find((e) => e.source === source)!;
};

describe("bundle-signature evidence (change-control)", () => {
  const keys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ctx = () => ({ settings: {} as never, db: service.context.db, audit: service.context.audit, now: () => new Date() });
  const runtimeWith = async (bundle: Buffer, env: Record<string, string> = {}) => {
    writeFileSync(join(dir, "key.pub"), keys.publicKey.export({ format: "pem", type: "spki" }) as string);
    writeFileSync(join(dir, "bundle.tar.gz"), bundle);
    const settings = readPolicySettings(
      { POLICY_BUNDLE_PATH: join(dir, "bundle.tar.gz"), POLICY_VERIFICATION_KEY: join(dir, "key.pub"), ...env },
      dir,
    );
    return startPolicyRuntime(settings, quiet, service.context.audit);
  };

  test("a verified signature is available evidence that passes", async () => {
    const signed = await signBundle(readFileSync(shippedBundlePath), { privateKey: keys.privateKey, algorithm: "ES256" });
    const evidence = await bundleSignatureProbe(await runtimeWith(signed)).collect(ctx());
    expect(evidence).toMatchObject({ state: "available", data: { verified: true } });
    expect(evidence.summary).toMatch(/signature verified with key 'default'/);
  });

  test("an unsigned bundle, accepted only because ALLOW_UNSIGNED_POLICY=true, is failing evidence", async () => {
    const evidence = await bundleSignatureProbe(
      await runtimeWith(readFileSync(shippedBundlePath), { ALLOW_UNSIGNED_POLICY: "true" }),
    ).collect(ctx());
    expect(evidence).toMatchObject({ state: "available", data: { verified: false } });
    expect(evidence.summary).toMatch(/WITHOUT a signature/);
  });

  test("with no bundle loaded, the service's own evidence is missing and the control is not a pass", async () => {
    const evidence = await controlEvidence("change-control", "bundle-signature");
    expect(evidence.status).toBe("unknown");
  });
});

describe("scim-sync evidence (account-management)", () => {
  test("no run yet: unknown, never a pass", async () => {
    expect((await controlEvidence("account-management", "scim-sync")).status).toBe("unknown");
  });

  test("a successful run passes; a later failed run fails", async () => {
    const now = new Date().toISOString();
    await service.context.db.query(
      "insert into scim_sync_runs (started_at, finished_at, status, granted, revoked) values ($1, $1, 'ok', 3, 1)",
      [now],
    );
    expect((await controlEvidence("account-management", "scim-sync")).status).toBe("pass");
    await service.context.db.query(
      "insert into scim_sync_runs (started_at, finished_at, status, error) values ($1, $1, 'failed', 'SCIM 503')",
      [now],
    );
    const failed = await controlEvidence("account-management", "scim-sync");
    expect(failed.status).toBe("fail");
  });
});
