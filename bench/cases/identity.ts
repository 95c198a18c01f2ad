import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureAsync, ms, ratio, type BenchSuite } from "../harness";
import { buildService } from "../../app/server";
import { readServiceSettings } from "../../app/settings";
import { mintDevToken } from "../../app/auth/dev-issuer";
import { defaultGroupRoles, readIdentitySettings } from "../../app/auth/settings";
import { authorizerFromVerifier, createTokenVerifier } from "../../app/auth/authorizer";
import { ScimClient } from "../../app/scim/client";
import { runScimSync } from "../../app/scim/sync";
import { freePort } from "../../lib/net";
import { startScimServer } from "../../harness/scim-server";

// What identity costs a request, and what a SCIM run costs against the sync interval.
export const suite: BenchSuite = {
  title: "Identity (authn/authz per request, SCIM sync run)",
  async run() {
    const dir = mkdtempSync(join(tmpdir(), "maestro-bench-identity-"));
    const scimToken = "bench-scim-token-0123456789abcdef";
    const scim = await startScimServer(await freePort(), scimToken);
    const service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, AUTHZ_ROLE_SOURCE: "both" }), { logger: false });
    try {
      const { authz } = service.context;
      service.server.get("/bench/open", async () => ({ ok: true }));
      service.server.get("/bench/guarded", { preHandler: [authz.authenticate, authz.requireRole("auditor", "admin")] }, async () => ({
        ok: true,
      }));
      // The same guards with AUTHZ_CACHE_SECONDS=0: every request verifies and looks its roles up.
      const identity = { ...readIdentitySettings({ AUTHZ_ROLE_SOURCE: "both" }, "development"), principalCacheSeconds: 0 };
      const uncached = authorizerFromVerifier(createTokenVerifier(identity, dir, service.context.db), identity, service.context.audit);
      service.server.get(
        "/bench/guarded-uncached",
        { preHandler: [uncached.authenticate, uncached.requireRole("auditor", "admin")] },
        async () => ({ ok: true }),
      );
      const token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
      const open = await measureAsync(() => service.server.inject({ url: "/bench/open" }), { runs: 300, warmup: 20 });
      const guardedAt = (url: string) =>
        measureAsync(
          async () => {
            const res = await service.server.inject({ url, headers: { authorization: `Bearer ${token}` } });
            if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
          },
          { runs: 300, warmup: 20 },
        );
      const guarded = await guardedAt("/bench/guarded-uncached");
      const cached = await guardedAt("/bench/guarded");

      // 1000 users, each mapped group with 100 members.
      for (let i = 0; i < 1000; i++) scim.addUser(`u-${i}`, `user-${i}`);
      Object.keys(defaultGroupRoles).forEach((name, g) =>
        scim.addGroup(
          `g-${g}`,
          name,
          Array.from({ length: 100 }, (_, i) => `u-${g * 100 + i}`),
        ),
      );
      const client = new ScimClient({ endpoint: scim.endpoint, token: scimToken, pageSize: 100 });
      const options = { groupRoles: defaultGroupRoles };
      let start = Date.now();
      await runScimSync(service.context.db, service.context.audit, client, options);
      const first = Date.now() - start;
      start = Date.now();
      await runScimSync(service.context.db, service.context.audit, client, options);
      const unchanged = Date.now() - start;
      const intervalMs = 2 * 60_000;
      return [
        {
          name: "guarded request latency (p50), every request verified",
          subject: "inject: authenticate (ES256 JWT, cached key) + requireRole (role_bindings lookup), AUTHZ_CACHE_SECONDS=0",
          value: ms(guarded.medianMs),
          baseline: "same route without guards",
          baselineValue: ms(open.medianMs),
          ratio: ratio(guarded.medianMs, open.medianMs),
          target: "overhead ≤ 5 ms",
          met: guarded.medianMs - open.medianMs <= 5,
        },
        {
          name: "guarded request latency (p50), token seen before",
          subject: "as above, principal reused (AUTHZ_CACHE_SECONDS=30, the default)",
          value: ms(cached.medianMs),
          baseline: "same route without guards",
          baselineValue: ms(open.medianMs),
          ratio: ratio(cached.medianMs, open.medianMs),
        },
        {
          name: "SCIM sync run, directory unchanged",
          subject: "runScimSync: 1000 users (10 pages), 4 groups answered 304 via ETag",
          value: ms(unchanged),
          baseline: "first run (all grants, 400 audit events)",
          baselineValue: ms(first),
          ratio: ratio(unchanged, first),
          target: "≤ 10% of the 2 min interval",
          met: Math.max(first, unchanged) <= intervalMs * 0.1,
        },
      ];
    } finally {
      await service.close();
      await scim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
