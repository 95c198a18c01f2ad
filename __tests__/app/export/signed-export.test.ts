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
import { seedPglite } from "../../../harness/pglite-template";

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
    await seedPglite(dir);
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
    expect((await get("/api/compliance/export/signed?since=0", auditor)).json().message).toMatch(/^since: must be an earlier tree size 1-/);
    expect((await get("/api/compliance/export/signed?proveIds=a", auditor)).json().message).toMatch(
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

  describe("range exports (by id or time), streamed", () => {
    const pack = async (query: string) => {
      const res = await get(`/api/compliance/export/signed?${query}`, auditor);
      if (res.statusCode !== 200) throw new Error(`?${query} answered ${res.statusCode}: ${res.body}`);
      // Streamed: no length known in advance.
      expect(res.headers["content-length"]).toBeUndefined();
      return res.json() as SignedPack;
    };
    let head: SignedPack;
    let rest: SignedPack;
    let tail: number;

    beforeAll(async () => {
      head = await pack("toId=10");
      for (let i = 0; i < 5; i++) await service.context.audit.append({ type: "auth.login", actor: `later-${i}`, details: { i } });
      rest = await pack("fromId=11&since=10&proveIds=11,12");
      tail = rest.pack.merkle.treeSize;
    });

    test("a pack of entries 1..10 holds just those, and its tree is the log's first 10 entries", () => {
      expect(head.pack.audit).toMatchObject({ fromId: 1, toId: 10 });
      expect(head.pack.audit.entries.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(head.pack.merkle).toMatchObject({ treeSize: 10, prefix: [] });
      expect(codes(head)).toEqual([]);
    });

    test("a range 11..tail verifies alone (the prefix frontier and its entries give the signed root) and extends the pack of 1..10", async () => {
      expect(rest.pack.audit.fromId).toBe(11);
      expect(rest.pack.audit.entries[0].id).toBe(11);
      expect(rest.pack.audit.entries.at(-1)!.id).toBe(tail);
      expect(rest.pack.merkle.prefix).toHaveLength(2); // 10 = 8 + 2
      expect(rest.pack.proofs.inclusion.map((p) => p.id)).toEqual([11, 12]);
      expect(codes(rest)).toEqual([]);
      expect(codes(rest, head)).toEqual([]);
      // The same tree as a whole-log pack of that size: one root, whatever the range.
      expect((await pack(`toId=${tail}`)).pack.merkle.root).toBe(rest.pack.merkle.root);
    });

    test("verify:export checks a range against the earlier pack; a planted prefix or a rewritten, re-signed earlier history is refused naming why", () => {
      const work = mkdtempSync(join(dir, "range-"));
      const file = (name: string, content: unknown) => {
        writeFileSync(join(work, name), typeof content === "string" ? content : JSON.stringify(content));
        return join(work, name);
      };
      const key = file("key.pem", pem);
      const cli = (...args: string[]) =>
        spawnSync(process.execPath, ["-r", "./tools/register.js", "tools/verify-export/main.ts", ...args], { cwd: root, encoding: "utf8" });
      const ok = cli(file("rest.json", rest), "--key", key, "--previous", file("head.json", head));
      expect(ok.stdout).toMatch(
        new RegExp(
          `^valid: ${tail - 10} entries \\(11-${tail}\\), tree size ${tail}, root [0-9a-f]{64}, 2 inclusion proof\\(s\\), consistent with tree size 10`,
        ),
      );
      expect(ok.status).toBe(0);

      const planted = clone(rest);
      planted.pack.merkle.prefix[1] = "e".repeat(64);
      const bad = cli(file("planted.json", planted), "--key", key);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain("ROOT_MISMATCH: the entries' Merkle root is not");
      expect(bad.stdout).toContain("SIGNATURE_MISMATCH");

      // An insider with the service key rewrites entries 1..10 and signs a range 11..tail over that
      // history: alone it verifies; against the auditor's earlier pack it does not.
      const key2 = createPrivateKey(readFileSync(join(dir, "keys", "audit-export-signing.pem"), "utf8"));
      const history = clone(rest.pack.audit.entries);
      const rewritten = clone(head.pack.audit.entries);
      rewritten[3].actor = "nobody";
      let prev = genesisHash;
      for (const r of rewritten) {
        r.prevHash = prev;
        const { hash: _h, ...content } = r;
        r.hash = entryHash(content);
        prev = r.hash;
      }
      const insider = buildSignedPack(
        { entries: [...rewritten, ...history], fromId: 11, sinceSize: 10, environment: "development" },
        signerFromKey(key2),
      );
      expect(codes(insider)).toEqual([]);
      const caught = cli(file("insider.json", insider), "--key", key, "--previous", join(work, "head.json"));
      expect(caught.status).toBe(1);
      expect(caught.stdout).toContain("CONSISTENCY_INVALID: the consistency proof starts from size 10 root");
      expect(caught.stdout).toContain("CONSISTENCY_INVALID: pack.merkle.prefix is not the tree of the previous pack (size 10");

      // A range whose chain does not hang off the earlier pack's last entry (entries 11.. re-chained
      // from another hash and re-signed): its prefix and consistency proof are genuine, the link is not.
      const detached = clone(history);
      prev = "f".repeat(64);
      for (const r of detached) {
        r.prevHash = prev;
        const { hash: _h, ...content } = r;
        r.hash = entryHash(content);
        prev = r.hash;
      }
      const forked = buildSignedPack(
        { entries: [...head.pack.audit.entries, ...detached], fromId: 11, sinceSize: 10, environment: "development" },
        signerFromKey(key2),
      );
      expect(codes(forked)).toEqual([]);
      expect(codes(forked, head)).toEqual(["CHAIN_BROKEN"]);
      expect(verifySignedPack(forked, pem, { previous: head }).failures[0].message).toBe(
        "entry 11: prevHash does not match entry 10's hash in the previous pack",
      );
    }, 120_000);

    test("a range by time holds the entries from `from` (inclusive) to `to` (exclusive)", async () => {
      const all = (await pack("")).pack.audit.entries;
      const from = all[4].at;
      const to = all[12].at;
      const expectedFrom = all.find((e) => e.at >= from)!.id;
      const expectedTo = [...all].reverse().find((e) => e.at < to)!.id;
      const byTime = await pack(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
      expect(byTime.pack.audit).toMatchObject({ fromId: expectedFrom, toId: expectedTo });
      expect(byTime.pack.audit.entries.every((e) => e.at >= from && e.at < to)).toBe(true);
      expect(codes(byTime)).toEqual([]);
    });

    test.each([
      ["fromId=0", /^fromId: must be an entry id, 1 or more \(got '0'\)/],
      ["fromId=x", /^fromId: must be an entry id/],
      ["toId=999999", /^toId: must be at most \d+, the log's last entry \(got 999999\)/],
      ["fromId=9&toId=5", /^fromId: must be at most toId 5 \(got 9\)/],
      ["fromId=2&from=2026-01-01T00:00:00Z", /^from: give a range by id \(fromId, toId\) or by time \(from, to\), not both/],
      ["from=yesterday", /^from: must be an ISO 8601 time with a zone/],
      ["to=2026-12-01T00:00:00", /^to: must be an ISO 8601 time with a zone/],
      ["from=2999-01-01T00:00:00Z", /^from: no audit entries from 2999-01-01T00:00:00Z to now/],
      ["fromId=11&proveIds=3", /^proveIds: each id must be one of the pack's entries 11-\d+ \(got 3\)/],
      ["toId=10&since=11", /^since: must be an earlier tree size 1-10 \(got 11\)/],
    ])("?%s is refused with 400 naming the parameter", async (query, message) => {
      const res = await get(`/api/compliance/export/signed?${query}`, auditor);
      expect(res.statusCode).toBe(400);
      const body = res.json() as { error: string; code: string; parameter: string; message: string; requestId: string };
      expect(body).toMatchObject({ error: "bad_request", code: "PACK_REQUEST_INVALID", message: expect.stringMatching(message) });
      expect(body.message.startsWith(`${body.parameter}: `)).toBe(true);
      expect(body.requestId).toBe(res.headers["x-request-id"]);
    });
  });
});
