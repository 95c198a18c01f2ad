// `npm run -s scim:sync -- --push URL | --dry-run`: the ScimSync CronJob's command. Reads users and
// the mapped groups from the IdP's SCIM 2.0 API and pushes the snapshot to the service, which
// applies it in one transaction. Exit 0 ok; 1 the sync failed (IdP unreachable, malformed SCIM,
// service refused); 2 bad usage or settings.
import { parseGroupRoles, defaultGroupRoles } from "../auth/settings";
import { SettingsError } from "../env";
import { ScimClient } from "./client";
import { parseCli, runCli, UsageError } from "../../lib/cli";
import { isLoopbackHost } from "../../lib/net";

const usage = `usage: npm run -s scim:sync -- (--push URL | --dry-run) [--page-size N]

Reads Users and the groups named in GROUP_ROLES from the SCIM 2.0 API and either pushes the
snapshot to the compliance service (POST URL, normally http://<service>/api/scim/sync) or, with
--dry-run, prints it.

environment:
  SCIM_ENDPOINT    https:// base URL of the IdP's SCIM 2.0 API (required)
  SCIM_TOKEN       bearer token for the SCIM API (required; from the 'scim' Secret)
  SCIM_SYNC_TOKEN  bearer token for POST /api/scim/sync (required with --push; 'scim' Secret)
  GROUP_ROLES      group=role,... (default: ${Object.entries(defaultGroupRoles)
    .map(([g, r]) => `${g}=${r}`)
    .join(",")})
`;

function httpUrl(name: string, raw: string | undefined, allowClusterHttp: boolean): string {
  if (!raw) throw new UsageError(`${name} is required`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${name} must be a URL (got '${raw}')`);
  }
  // https, or http to loopback; the push target may also be an in-cluster service (the mesh adds mTLS).
  const ok =
    url.protocol === "https:" ||
    (url.protocol === "http:" && (isLoopbackHost(url.hostname) || (allowClusterHttp && /\.svc(\.|:|$)/.test(url.host))));
  if (!ok)
    throw new UsageError(`${name} must be an https:// URL${allowClusterHttp ? " or an in-cluster http://*.svc URL" : ""} (got '${raw}')`);
  return raw;
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCli(argv, { push: { type: "string" }, "dry-run": { type: "boolean" }, "page-size": { type: "string" } });
  const push = values.push === undefined ? undefined : httpUrl("--push", values.push, true);
  const dryRun = values["dry-run"] ?? false;
  const rawPageSize = values["page-size"] ?? "100";
  if (!/^\d+$/.test(rawPageSize) || Number(rawPageSize) < 1 || Number(rawPageSize) > 1000)
    throw new UsageError(`--page-size must be an integer 1-1000 (got '${rawPageSize}')`);
  const pageSize = Number(rawPageSize);
  if (dryRun === (push !== undefined)) throw new UsageError("give exactly one of --push URL or --dry-run");
  if (!env.SCIM_TOKEN) throw new UsageError("SCIM_TOKEN is required");
  if (push && !env.SCIM_SYNC_TOKEN) throw new UsageError("SCIM_SYNC_TOKEN is required with --push");
  const groupRoles = env.GROUP_ROLES ? parseGroupRoles(env.GROUP_ROLES) : { ...defaultGroupRoles };
  const client = new ScimClient({ endpoint: httpUrl("SCIM_ENDPOINT", env.SCIM_ENDPOINT, false), token: env.SCIM_TOKEN, pageSize });
  const started = Date.now();
  try {
    const snapshot = await client.fetchSnapshot(Object.keys(groupRoles));
    if (dryRun) {
      process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
      return 0;
    }
    const res = await fetch(push as string, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.SCIM_SYNC_TOKEN}` },
      body: JSON.stringify(snapshot),
      signal: AbortSignal.timeout(60_000),
    });
    const body = await res.text();
    if (!res.ok) {
      process.stderr.write(`scim:sync: ${push} answered ${res.status}: ${body.slice(0, 500)}\n`);
      return 1;
    }
    process.stdout.write(
      `${JSON.stringify({ ok: true, ...(JSON.parse(body) as object), users: snapshot.users.length, groups: snapshot.groups.length, scimRequests: client.stats.requests, ms: Date.now() - started })}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`scim:sync: sync failed, nothing changed: ${(err as Error).message}\n`);
    return 1;
  }
}

// Settings it cannot start with (GROUP_ROLES) are 2, as bad usage; a failed sync is 1.
void runCli({
  tool: "scim:sync",
  usage: usage.trimEnd(),
  main: (argv) => main(argv, process.env),
  exitCode: (err) => (err instanceof SettingsError ? 2 : 1),
});
