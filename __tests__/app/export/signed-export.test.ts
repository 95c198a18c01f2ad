import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { canonicalJson } from "../../../app/audit/canonical";
import { entryHash, genesisHash } from "../../../app/audit/log";
import { buildSignedPack, type SignedPack } from "../../../app/export/pack";
import { signerFromKey } from "../../../app/export/signing";
import { verifySignedPack } from "../../../app/export/verify";
import { findBinary } from "../../../harness/binaries";

const openssl = findBinary("openssl");
const jq = findBinary("jq");
const root = join(__dirname, "..", "..", "..");
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe("signed compliance export (service on PGlite, dev-issuer tokens)", () => {
  let dir: string;
  let service: BuiltService;
  let auditor: string;
  let viewer: string;
  let pem: string;
  let first: SignedPack;
  // The pack reveals the audit log (label audit-log), so it needs a reason like the log itself.
  const get = (url: string, token?: string) =>
    service.server.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}`, "x-rfa": "INC-9 export test" } : {} });
  const codes = (doc: unknown, previous?: unknown) => verifySignedPack(doc, pem, { previous }).failures.map((f) => f.code);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-signed-export-"));
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
    for (let i = 0; i < 20; i++)
      await service.context.audit.append({
        type: "auth.login",
        actor: `user-${i}`,
        details: { i, note: "ünïcode ✓", nested: { b: 1, a: [2, 3] } },
      });
    auditor = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    viewer = await mintDevToken(dir, { subject: "vera", groups: ["viewers"] });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("both routes need an authenticated auditor or admin; the pack also needs an x-rfa reason", async () => {
    expect((await get("/api/compliance/export/signed")).statusCode).toBe(401);
    expect((await get("/api/compliance/export/key")).statusCode).toBe(401);
    expect((await get("/api/compliance/export/signed", viewer)).statusCode).toBe(403);
    expect((await get("/api/compliance/export/key", viewer)).statusCode).toBe(403);
    const noReason = await service.server.inject({ url: "/api/compliance/export/signed", headers: { authorization: `Bearer ${auditor}` } });
    expect(noReason.statusCode).toBe(403);
    expect(noReason.json()).toMatchObject({ error: "reason_required", label: "audit-log" });
  });

  test("the key route serves the PEM public key; the pack carries controls, entries, root, proofs and a signature", async () => {
    const key = await get("/api/compliance/export/key", auditor);
    expect(key.statusCode).toBe(200);
    pem = key.body;
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const res = await get("/api/compliance/export/signed", auditor);
    expect(res.statusCode).toBe(200);
    first = res.json();
    expect(first.signature.keyId).toBe(key.headers["x-key-id"]);
    expect(first.pack.merkle.treeSize).toBeGreaterThanOrEqual(20);
    expect(first.pack.audit.entries).toHaveLength(first.pack.merkle.treeSize);
    expect(first.pack.controls.length).toBeGreaterThan(0);
    expect(first.pack.proofs.inclusion.map((p) => p.id)).toEqual([first.pack.merkle.treeSize]);
    expect(verifySignedPack(first, pem)).toMatchObject({ ok: true, failures: [] });
  });

  test("the export itself is audited with its root", async () => {
    const last = (await service.context.audit.list({ fromId: first.pack.merkle.treeSize + 1 })).find((e) => e.type === "export.signed");
    expect(last).toMatchObject({ actor: "alice", details: { root: first.pack.merkle.root, treeSize: first.pack.merkle.treeSize } });
  });

  (openssl && jq ? test : test.skip)(
    "an independent verifier (jq for the canonical bytes, openssl for ECDSA) accepts the signature",
    () => {
      const work = mkdtempSync(join(dir, "openssl-"));
      writeFileSync(join(work, "response.json"), JSON.stringify(first, null, 2));
      writeFileSync(join(work, "key.pem"), pem);
      // The blob cosign would verify: `jq -cjS .pack`, byte for byte what the service signed.
      const blob = execFileSync(jq!, ["-cjS", ".pack", join(work, "response.json")]);
      expect(blob.equals(Buffer.from(canonicalJson(first.pack)))).toBe(true);
      writeFileSync(join(work, "pack.blob"), blob);
      writeFileSync(join(work, "pack.sig"), Buffer.from(first.signature.value, "base64"));
      const ok = spawnSync(
        openssl!,
        ["dgst", "-sha256", "-verify", join(work, "key.pem"), "-signature", join(work, "pack.sig"), join(work, "pack.blob")],
        { encoding: "utf8" },
      );
      expect(ok.stdout.trim()).toBe("Verified OK");
      writeFileSync(join(work, "pack.blob"), Buffer.concat([blob, Buffer.from(" ")]));
      const bad = spawnSync(
        openssl!,
        ["dgst", "-sha256", "-verify", join(work, "key.pem"), "-signature", join(work, "pack.sig"), join(work, "pack.blob")],
        { encoding: "utf8" },
      );
      expect(bad.status).toBe(1);
    },
  );

  test("any changed, removed or reordered entry is detected, signed or re-signed", () => {
    const changed = clone(first);
    changed.pack.audit.entries[4].actor = "mallory";
    expect(codes(changed)).toEqual(expect.arrayContaining(["DIGEST_MISMATCH", "SIGNATURE_MISMATCH", "CHAIN_BROKEN", "ROOT_MISMATCH"]));
    const removed = clone(first);
    removed.pack.audit.entries.splice(7, 1);
    expect(codes(removed)).toEqual(expect.arrayContaining(["SIGNATURE_MISMATCH", "ENTRY_SEQUENCE", "ROOT_MISMATCH"]));
    const reordered = clone(first);
    const e = reordered.pack.audit.entries;
    [e[2], e[3]] = [e[3], e[2]];
    expect(codes(reordered)).toEqual(expect.arrayContaining(["SIGNATURE_MISMATCH", "ENTRY_SEQUENCE", "ROOT_MISMATCH"]));
    const otherRoot = clone(first);
    otherRoot.pack.merkle.root = "0".repeat(64);
    expect(codes(otherRoot)).toEqual(expect.arrayContaining(["SIGNATURE_MISMATCH", "ROOT_MISMATCH", "INCLUSION_INVALID"]));
    const badProof = clone(first);
    badProof.pack.proofs.inclusion[0].path[0] = "f".repeat(64);
    expect(codes(badProof)).toEqual(expect.arrayContaining(["INCLUSION_INVALID"]));
  });

  test("a '__proto__' member added to an entry or to the pack is not covered by the signature and is refused", () => {
    // JSON.parse turns "__proto__" into an ordinary member, which Python, jq and every reader see.
    const inject = (text: string, at: string) => text.replace(at, `${at}"__proto__":{"reason":"approved by CISO"},`);
    const text = JSON.stringify(first);
    const inPack = JSON.parse(inject(text, '"pack":{')) as SignedPack;
    expect(codes(inPack)).toEqual(expect.arrayContaining(["DIGEST_MISMATCH", "SIGNATURE_MISMATCH"]));
    const inEntry = JSON.parse(inject(text, '"details":{')) as SignedPack;
    expect(codes(inEntry)).toEqual(expect.arrayContaining(["DIGEST_MISMATCH", "SIGNATURE_MISMATCH", "CHAIN_BROKEN"]));
    if (jq) {
      const blob = execFileSync(jq, ["-cjS", ".pack"], { input: JSON.stringify(inPack) });
      expect(blob.equals(Buffer.from(canonicalJson(inPack.pack)))).toBe(true);
    }
  });

  test("a signature from another key is refused", () => {
    const other = signerFromKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
    const forged = buildSignedPack({ entries: first.pack.audit.entries, environment: "development" }, other);
    expect(codes(forged)).toEqual(expect.arrayContaining(["KEY_MISMATCH", "SIGNATURE_MISMATCH"]));
  });

  test("a later export proves it extends the earlier one; a rewritten history does not", async () => {
    for (let i = 0; i < 7; i++) await service.context.audit.append({ type: "scim.role.granted", actor: "scim", details: { i } });
    const res = await get(`/api/compliance/export/signed?since=${first.pack.merkle.treeSize}&proveIds=1,3`, auditor);
    const second: SignedPack = res.json();
    expect(second.pack.proofs.consistency?.fromSize).toBe(first.pack.merkle.treeSize);
    expect(second.pack.proofs.inclusion.map((p) => p.id)).toEqual([1, 3]);
    expect(codes(second, first)).toEqual([]);
    // The same service key signing a different history (an insider rewrite) is caught by consistency.
    const key = createPrivateKey(readFileSync(join(dir, "keys", "audit-export-signing.pem"), "utf8"));
    const rewritten = clone(first.pack.audit.entries).map((entry) => ({ ...entry }));
    rewritten[0].actor = "someone-else";
    let prev = genesisHash;
    for (const r of rewritten) {
      r.prevHash = prev;
      const { hash: _h, ...rest } = r;
      r.hash = entryHash(rest);
      prev = r.hash;
    }
    const insider = buildSignedPack({ entries: rewritten, environment: "development" }, signerFromKey(key));
    expect(codes(insider)).toEqual([]);
    expect(codes(second, insider)).toContain("CONSISTENCY_INVALID");
  });

  test("bad query parameters get 400 naming the parameter", async () => {
    expect((await get("/api/compliance/export/signed?since=0", auditor)).json().error).toMatch(/^since: must be an earlier tree size 1-/);
    expect((await get("/api/compliance/export/signed?proveIds=a", auditor)).json().error).toMatch(
      /^proveIds: must be comma-separated entry ids/,
    );
    expect((await get("/api/compliance/export/signed?proveIds=99999", auditor)).statusCode).toBe(400);
  });

  test("npm run -s verify:export: 0 valid, 1 invalid with what failed, 2 bad usage", () => {
    const work = mkdtempSync(join(dir, "cli-"));
    const file = (name: string, content: unknown) => {
      writeFileSync(join(work, name), typeof content === "string" ? content : JSON.stringify(content));
      return join(work, name);
    };
    const key = file("key.pem", pem);
    const cli = (...args: string[]) => spawnSync("npm", ["run", "-s", "verify:export", "--", ...args], { cwd: root, encoding: "utf8" });
    const valid = cli(file("pack.json", first), "--key", key);
    expect(valid.stdout).toMatch(/^valid: \d+ entries, tree size \d+, root [0-9a-f]{64}, 1 inclusion proof\(s\)/);
    expect(valid.status).toBe(0);
    const tampered = clone(first);
    tampered.pack.audit.entries[1].type = "auth.logout";
    const invalid = cli(file("bad.json", tampered), "--key", key);
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toContain("SIGNATURE_MISMATCH: the signature does not verify");
    expect(invalid.stdout).toContain("CHAIN_BROKEN: entry 2: its hash does not match its content");
    const usage = cli(join(work, "pack.json"));
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("--key <public.pem> is required");
    expect(cli(join(work, "missing.json"), "--key", key).status).toBe(2);
  }, 120_000);
});
