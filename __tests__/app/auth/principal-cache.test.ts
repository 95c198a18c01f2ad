import { cachingVerifier, TokenRejectedError } from "../../../app/auth/authorizer";
import { readIdentitySettings } from "../../../app/auth/settings";
import type { Principal } from "../../../app/auth/types";

// The verified-principal cache in front of token verification: what it may reuse, and for how long.

const alice: Principal = { subject: "alice", groups: ["viewers"], roles: ["viewer"] };

/** A verifier over a clock: tokens "ok-<exp ms>" verify with that expiry, anything else is refused. */
function fixture(maxAgeMs: number) {
  let clock = 1_000_000;
  const calls: string[] = [];
  const verify = cachingVerifier(
    async (token) => {
      calls.push(token);
      await new Promise((r) => setImmediate(r));
      const m = /^ok-(\d+)$/.exec(token);
      if (!m) throw new TokenRejectedError("TOKEN_INVALID", `bad token ${token}`);
      return { principal: { ...alice }, expiresAt: Number(m[1]) };
    },
    maxAgeMs,
    () => clock,
  );
  return { verify, calls, advance: (ms: number) => (clock += ms) };
}

test("a verified token is reused until maxAge, then verified again", async () => {
  const { verify, calls, advance } = fixture(30_000);
  const token = "ok-9000000";
  expect(await verify(token)).toEqual(alice);
  advance(29_999);
  expect(await verify(token)).toEqual(alice);
  expect(calls).toHaveLength(1);
  advance(1);
  await verify(token);
  expect(calls).toHaveLength(2);
});

test("never past the token's own expiry, however long maxAge is", async () => {
  const { verify, calls, advance } = fixture(300_000);
  const token = "ok-1010000"; // expires 10 s after the clock's start
  await verify(token);
  advance(9_999);
  await verify(token);
  expect(calls).toHaveLength(1);
  advance(1);
  await verify(token);
  expect(calls).toHaveLength(2);
});

test("a refused token is never remembered: each attempt is checked again", async () => {
  const { verify, calls } = fixture(30_000);
  await expect(verify("forged")).rejects.toThrow(/bad token forged/);
  await expect(verify("forged")).rejects.toThrow(TokenRejectedError);
  expect(calls).toEqual(["forged", "forged"]);
});

test("concurrent requests with one token share one verification", async () => {
  const { verify, calls } = fixture(30_000);
  const principals = await Promise.all(Array.from({ length: 20 }, () => verify("ok-9000000")));
  expect(principals.every((p) => p.subject === "alice")).toBe(true);
  expect(calls).toHaveLength(1);
});

test("forget() drops everything; maxAge 0 remembers nothing", async () => {
  const cached = fixture(30_000);
  await cached.verify("ok-9000000");
  cached.verify.forget();
  await cached.verify("ok-9000000");
  expect(cached.calls).toHaveLength(2);
  const off = fixture(0);
  await off.verify("ok-9000000");
  await off.verify("ok-9000000");
  expect(off.calls).toHaveLength(2);
});

test("AUTHZ_CACHE_SECONDS: 30 by default, 0-300, named when bad", () => {
  expect(readIdentitySettings({}, "development").principalCacheSeconds).toBe(30);
  expect(readIdentitySettings({ AUTHZ_CACHE_SECONDS: "0" }, "development").principalCacheSeconds).toBe(0);
  expect(() => readIdentitySettings({ AUTHZ_CACHE_SECONDS: "301" }, "development")).toThrow(/^AUTHZ_CACHE_SECONDS: /);
  expect(() => readIdentitySettings({ AUTHZ_CACHE_SECONDS: "soon" }, "development")).toThrow(/^AUTHZ_CACHE_SECONDS: /);
});
