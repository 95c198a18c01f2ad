import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose" with { "resolution-mode": "import" };
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import Fastify from "fastify";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { authorizerFromVerifier, createTokenVerifier } from "../../../app/auth/authorizer";
import { readIdentitySettings } from "../../../app/auth/settings";
import { freePort } from "../../../lib/net";
import { audience, rsaKey, startProvider, type RunningProvider, type TestClient } from "../../../harness/oidc-provider";
import { seedPglite } from "../../../harness/pglite-template";

// Authentication against a real OpenID Provider: its discovery document and JWKS, its JWT access
// tokens, and every kind of bad token answered 401 with a WWW-Authenticate challenge.

const auditorClient: TestClient = { id: "carol-auditor", secret: "carol-secret-0123456789abcdef", groups: ["auditors"] };
const viewerClient: TestClient = { id: "victor-viewer", secret: "victor-secret-0123456789abcdef", groups: ["viewers"] };

describe("bearer tokens from a real OpenID Provider (oidc-provider)", () => {
  let dir: string;
  let port: number;
  let provider: RunningProvider;
  let service: BuiltService;
  let firstKey: JWK;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-oidc-"));
    await seedPglite(dir);
    port = await freePort();
    firstKey = await rsaKey("key-1");
    provider = await startProvider(port, [firstKey], [auditorClient, viewerClient]);
    service = await buildService(
      readServiceSettings({
        MAESTRO_DATA_DIR: dir,
        OIDC_ISSUER: provider.issuer,
        OIDC_AUDIENCE: audience,
        AUTHZ_ROLE_SOURCE: "token",
        // No cooldown, so the rotation test need not wait 30 s for the unknown-kid refetch.
        OIDC_JWKS_COOLDOWN_MS: "0",
      }),
      { logger: false },
    );
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const readAudit = (token: string, reason = "SEC-7 access review") =>
    service.server.inject({ url: "/api/compliance/audit", headers: { authorization: `Bearer ${token}`, "x-rfa": reason } });

  test("a client_credentials JWT access token from the provider is accepted; groups map to roles", async () => {
    expect((await readAudit(await provider.token(auditorClient))).statusCode).toBe(200);
    expect((await readAudit(await provider.token(viewerClient))).statusCode).toBe(403);
  });

  // Each bad kind is signed with the provider's own published key unless the kind is about the key.
  const now = () => Math.floor(Date.now() / 1000);
  type Forge = (sign: (claims: Record<string, unknown>, header?: Record<string, unknown>, key?: JWK) => Promise<string>) => Promise<string>;
  const base = () => ({ iss: provider.issuer, aud: audience, sub: "mallory", groups: ["auditors"], iat: now(), exp: now() + 300 });
  const badTokens: Array<[string, Forge, RegExp]> = [
    ["alg none (unsecured JWT)", async () => unsecured(base()), /alg|Unsecured|not allowed/i],
    ["unknown kid", async (sign) => sign(base(), { kid: "key-nobody-published" }, await rsaKey("key-nobody-published")), /no key/],
    ["known kid, signed by another key", async (sign) => sign(base(), {}, await rsaKey("key-1")), /signature verification failed/],
    ["wrong issuer", (sign) => sign({ ...base(), iss: "https://evil.example" }), /iss/],
    ["wrong audience", (sign) => sign({ ...base(), aud: "some-other-api" }), /aud/],
    ["expired", (sign) => sign({ ...base(), iat: now() - 7200, exp: now() - 3600 }), /exp/],
    ["not before in the future", (sign) => sign({ ...base(), nbf: now() + 3600 }), /nbf/],
    ["no exp claim", (sign) => sign({ ...base(), exp: undefined }), /exp/],
    ["no sub claim", (sign) => sign({ ...base(), sub: undefined }), /sub/],
    ["HS256 although only RS256/ES256 are allowed", async () => hs256(base()), /alg/],
    [
      "HS256 keyed with the provider's own public key",
      async () => hs256(base(), new TextEncoder().encode(JSON.stringify({ kty: firstKey.kty, n: firstKey.n, e: firstKey.e }))),
      /alg/,
    ],
    [
      "the attacker's own key embedded in the header (jwk) under the real kid",
      async (sign) => {
        const attacker = await rsaKey("key-1");
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = attacker;
        return sign(base(), { jwk: publicJwk }, attacker);
      },
      /signature verification failed/,
    ],
    ["groups claim that is not a string array", (sign) => sign({ ...base(), groups: "auditors" }), /groups/],
    ["expiring in the year 3000", (sign) => sign({ ...base(), exp: Date.UTC(3000, 0, 1) / 1000 }), /longest accepted lifetime \(86400 s/],
    [
      "issued two days ago, valid for two days and five minutes",
      (sign) => sign({ ...base(), iat: now() - 172_800 }),
      /lifetime \("exp" - "iat"\) is 173100 s, more than 86400 s/,
    ],
    ["empty sub", (sign) => sign({ ...base(), sub: "" }), /"sub" claim must be a non-empty string/],
    ["blank sub", (sign) => sign({ ...base(), sub: "   " }), /"sub" claim must be a non-empty string/],
    ["sub with a NEL", (sign) => sign({ ...base(), sub: "mallory\u0085admin" }), /U\+0085/],
  ];

  test.each(badTokens)("%s → 401 invalid_token with WWW-Authenticate", async (_kind, forge, detail) => {
    const token = await forge(async (claims, header = {}, key = firstKey) => {
      const jose = await import("jose");
      const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
      return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "at+jwt", ...header })
        .sign(await jose.importJWK(key, "RS256"));
    });
    const res = await readAudit(token);
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="maestro", error="invalid_token", error_description="[^"]+"$/);
    expect((res.json() as { message: string }).message).toMatch(detail);
  });

  test("malformed Authorization headers → 401 invalid_request; none → 401 with a bare challenge", async () => {
    for (const header of ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a b", "bearer"]) {
      const res = await service.server.inject({ url: "/api/compliance/audit", headers: { authorization: header } });
      expect(res.statusCode).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/error="invalid_request"/);
    }
    const none = await service.server.inject({ url: "/api/compliance/audit" });
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="maestro"');
  });

  test("a development-issuer token is refused once a real issuer is configured", async () => {
    const devToken = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
    const res = await readAudit(devToken);
    expect(res.statusCode).toBe(401);
  });

  test("key rotation at the provider is picked up without restarting the service", async () => {
    const before = await provider.token(auditorClient);
    expect((await readAudit(before)).statusCode).toBe(200);
    // The provider restarts with a new signing key first and the old one still published.
    await provider.close();
    provider = await startProvider(port, [await rsaKey("key-2"), firstKey], [auditorClient, viewerClient]);
    const after = await provider.token(auditorClient);
    expect(JSON.parse(Buffer.from(after.split(".")[0], "base64url").toString()).kid).toBe("key-2");
    expect((await readAudit(after)).statusCode).toBe(200);
    expect((await readAudit(before)).statusCode).toBe(200); // old key still published: old tokens live on
    // The old key is withdrawn: its tokens stop verifying once the JWKS is refetched.
    await provider.close();
    provider = await startProvider(port, [await rsaKey("key-3")], [auditorClient, viewerClient]);
    const third = await provider.token(auditorClient);
    expect((await readAudit(third)).statusCode).toBe(200);
    expect((await readAudit(before)).statusCode).toBe(401);
  });

  test("an unreachable issuer answers 503 with Retry-After, not 401", async () => {
    const identity = readIdentitySettings({ OIDC_ISSUER: `http://127.0.0.1:${await freePort()}` }, "development");
    const verify = createTokenVerifier(identity, dir, service.context.db);
    const token = unsecured({ iss: identity.issuer, sub: "x", aud: audience, exp: Math.floor(Date.now() / 1000) + 60 });
    await expect(verify(token)).rejects.toMatchObject({ code: "ISSUER_UNAVAILABLE" });
    const server = Fastify({ logger: false });
    const authz = authorizerFromVerifier(verify, identity, service.context.audit);
    server.get("/probe", { preHandler: [authz.authenticate] }, async () => ({ ok: true }));
    const res = await server.inject({ url: "/probe", headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    await server.close();
  });
});

describe("an issuer whose discovery fails is asked again only after a backoff", () => {
  let dir: string;
  let idp: Server;
  let issuer: string;
  let hits = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-discovery-"));
    await seedPglite(dir);
    idp = createServer((_req, res) => {
      hits++;
      res.writeHead(500, { "content-type": "text/plain" }).end("internal error");
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => idp.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test("50 forged tokens while discovery answers 500: one discovery request, then one per backoff step", async () => {
    const identity = readIdentitySettings({ OIDC_ISSUER: issuer, OIDC_DISCOVERY_RETRY_MIN_MS: "500" }, "development");
    const verify = createTokenVerifier(identity, dir, undefined as never);
    const forged = () => unsecured({ iss: issuer, sub: `x-${Math.random()}`, aud: audience, exp: Math.floor(Date.now() / 1000) + 60 });
    const refused = async (n: number, concurrently: boolean) => {
      const attempts = concurrently
        ? await Promise.allSettled(Array.from({ length: n }, () => verify(forged())))
        : await (async () => {
            const out: PromiseSettledResult<unknown>[] = [];
            for (let i = 0; i < n; i++) out.push(...(await Promise.allSettled([verify(forged())])));
            return out;
          })();
      for (const a of attempts) expect(a).toMatchObject({ status: "rejected", reason: { code: "ISSUER_UNAVAILABLE" } });
    };
    await refused(25, true);
    await refused(25, false);
    expect(hits).toBe(1);
    // After the first backoff (500 ms) one more attempt; the next backoff is 1 s.
    await new Promise((r) => setTimeout(r, 600));
    await refused(50, false);
    expect(hits).toBe(2);
    await new Promise((r) => setTimeout(r, 600));
    await refused(50, false);
    expect(hits).toBe(2);
    await new Promise((r) => setTimeout(r, 600));
    await refused(1, false);
    expect(hits).toBe(3);
  });
});

function unsecured(claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.`;
}

async function hs256(
  claims: Record<string, unknown>,
  secret = new TextEncoder().encode("a-shared-secret-an-attacker-chose"),
): Promise<string> {
  const jose = await import("jose");
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "key-1" }).sign(secret);
}
