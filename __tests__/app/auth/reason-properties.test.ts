import Fastify, { type FastifyInstance } from "fastify";
import fc from "fast-check";
import { authorizerFromVerifier, maxReasonLength } from "../../../app/auth/authorizer";
import { readIdentitySettings } from "../../../app/auth/settings";
import { forbiddenCharacter } from "../../../app/auth/text";
import type { AuditEntry, AuditEventInput, AuditLog } from "../../../app/audit/types";
import { propertyRuns } from "../../support/properties";

// x-rfa through the real requireReason guard (a fixed principal stands in for a verified token):
// a reason is accepted exactly when it is non-blank, at most 500 characters and free of control,
// bidi and line-separator characters, and then stored as the text that was sent.

describe("x-rfa properties", () => {
  let server: FastifyInstance;
  const events: AuditEventInput[] = [];
  beforeAll(async () => {
    const audit: AuditLog = {
      append: async (e) => (events.push(e), { ...e, id: events.length, at: "", prevHash: "", hash: "" }) as AuditEntry,
      list: async () => [],
    };
    const identity = readIdentitySettings({}, "development");
    const authz = authorizerFromVerifier(async () => ({ subject: "alice", groups: ["auditors"], roles: ["auditor"] }), identity, audit);
    server = Fastify({ logger: false });
    server.get("/r", { onRequest: [authz.authenticate, authz.requireReason("audit-log")] }, async () => ({ ok: true }));
    await server.ready();
  });
  afterAll(() => server.close());

  // Printable text, the characters refused, and the whitespace trimmed at the ends.
  const piece = fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
    { weight: 2, arbitrary: fc.constantFrom("\u0085", "\u009b", "\u202e", "\u2066", "\u200f", "\u061c", "\u2028", "\u2029", "\u007f") },
    { weight: 2, arbitrary: fc.constantFrom(" ", "  ", "\t") },
    { weight: 1, arbitrary: fc.constant("ü".repeat(120)) },
  );
  // Node's HTTP parser refuses C0 controls other than tab before any guard runs; none are sent.
  // eslint-disable-next-line no-control-regex
  const reason = fc.array(piece, { maxLength: 8 }).map((ps) => ps.join("").replace(/[\u0000-\u0008\u000a-\u001f]/g, ""));

  test("accepted iff non-blank, at most 500 characters, no forbidden character; stored as sent", async () => {
    await fc.assert(
      fc.asyncProperty(reason, async (text) => {
        const before = events.length;
        const wire = Buffer.from(text, "utf8").toString("latin1");
        const res = await server.inject({ url: "/r", headers: { authorization: "Bearer x", "x-rfa": wire } });
        // Node's HTTP layer trims a header value's surrounding spaces and tabs too.
        const trimmed = text.replace(/^[ \t]+|[ \t]+$/g, "").trim();
        const expected = trimmed === "" ? 403 : [...trimmed].length > maxReasonLength || forbiddenCharacter(trimmed) ? 400 : 200;
        expect(res.statusCode).toBe(expected);
        if (expected === 200) expect(events.at(-1)).toMatchObject({ type: "access.reason", reason: trimmed });
        else expect(events.length).toBe(before);
      }),
      propertyRuns("x-rfa accept/refuse", 300),
    );
  });
});
