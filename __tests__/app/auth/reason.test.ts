import { request } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { forbiddenCharacter, headerText } from "../../../app/auth/text";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { seedPglite } from "../../../harness/pglite-template";

// x-rfa as it comes off the wire: the service listens on a loopback port and the reason's bytes
// are written as they are (Node's client, like curl, sends header bytes unchanged). C0 controls
// never get this far: Node's HTTP parser refuses them in a header (forbiddenCharacter covers them
// for values built in-process).

describe("x-rfa on the wire: UTF-8 text, no controls, no bidi overrides", () => {
  let dir: string;
  let service: BuiltService;
  let port: number;
  let token: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-reason-"));
    await seedPglite(dir);
    service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
    await service.server.listen({ port: 0, host: "127.0.0.1" });
    port = (service.server.server.address() as { port: number }).port;
    token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET /api/compliance/audit with x-rfa set to exactly these bytes. */
  const readWith = (reasonBytes: Buffer) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/compliance/audit?limit=1",
          // Node writes header strings as latin1: one character per byte, so these are the bytes sent.
          headers: { authorization: `Bearer ${token}`, "x-rfa": reasonBytes.toString("latin1") },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  const lastReason = async () => (await service.context.audit.list()).filter((e) => e.type === "access.reason").at(-1)?.reason;

  test("a UTF-8 reason is stored as the text it spells, not as latin1 mojibake", async () => {
    const reason = "Prüfung SOC 2 — Größe ✓ 監査";
    const res = await readWith(Buffer.from(reason, "utf8"));
    expect(res.status).toBe(200);
    expect(await lastReason()).toBe(reason);
  });

  test.each([
    ["NEL (C1)", "INC-1\u0085forged: approved by CISO"],
    ["CSI (C1)", "INC-1 \u009b31m red"],
    ["right-to-left override", "INC-1 \u202eDESREVER"],
    ["right-to-left isolate", "INC-1 \u2067x\u2069"],
    ["line separator", "INC-1\u2028second line"],
  ])("a reason with %s is refused with 400 naming the character, and nothing is stored", async (_what, reason) => {
    const before = (await service.context.audit.list()).length;
    const res = await readWith(Buffer.from(reason, "utf8"));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "reason_invalid", label: "audit-log" });
    expect(res.body.message).toContain(forbiddenCharacter(reason));
    expect((await service.context.audit.list()).length).toBe(before);
  });

  test("bytes that are not UTF-8 are refused", async () => {
    const res = await readWith(Buffer.from([0x49, 0x4e, 0x43, 0x20, 0xfc, 0x62, 0x65, 0x72])); // "INC \xfcber" in latin1
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "reason_invalid", message: "x-rfa must be UTF-8 text" });
  });

  test("the length limit counts characters, not bytes", async () => {
    expect((await readWith(Buffer.from("ü".repeat(500), "utf8"))).status).toBe(200);
    expect((await readWith(Buffer.from("ü".repeat(501), "utf8"))).status).toBe(400);
  });
});

test("headerText and forbiddenCharacter", () => {
  expect(headerText(Buffer.from("Größe", "utf8").toString("latin1"))).toBe("Größe");
  expect(headerText("\u00fc")).toBeUndefined();
  expect(forbiddenCharacter("plain text, tabs\tare not")).toBe("U+0009");
  expect(forbiddenCharacter("fine — ✓")).toBeUndefined();
  expect(forbiddenCharacter("\u0085")).toBe("U+0085");
});
