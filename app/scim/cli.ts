// `npm run -s scim:sync -- --push URL | --dry-run`: the ScimSync CronJob's command. Reads users and
// the mapped groups from the IdP's SCIM 2.0 API and pushes the snapshot to the service, which
// applies it in one transaction. Exit 0 ok; 1 the sync failed (IdP unreachable, malformed SCIM,
// service refused); 2 bad usage or settings.
import { parseGroupRoles, defaultGroupRoles } from "../auth/settings";
import { SettingsError } from "../env";
import { ScimClient } from "./client";
import { UsageError } from "../../lib/cli";

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

function isLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
}

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
    url.protocol === "https:" || (url.protocol === "http:" && (isLoopback(url) || (allowClusterHttp && /\.svc(\.|:|$)/.test(url.host))));
  if (!ok)
    throw new UsageError(`${name} must be an https:// URL${allowClusterHttp ? " or an in-cluster http://*.svc URL" : ""} (got '${raw}')`);
  return raw;
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage);
    return 0;
  }
  let push: string | undefined;
  let dryRun = false;
  let pageSize = 100;
  let client: ScimClient;
  let groupRoles = { ...defaultGroupRoles };
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === "--dry-run") dryRun = true;
      else if (arg === "--push") push = httpUrl("--push", argv[++i], true);
      else if (arg === "--page-size") {
        const raw = argv[++i] ?? "";
        if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000)
          throw new UsageError(`--page-size must be an integer 1-1000 (got '${raw}')`);
        pageSize = Number(raw);
      } else throw new UsageError(`unknown argument '${arg}'`);
    }
    if (dryRun === (push !== undefined)) throw new UsageError("give exactly one of --push URL or --dry-run");
    if (!env.SCIM_TOKEN) throw new UsageError("SCIM_TOKEN is required");
    if (push && !env.SCIM_SYNC_TOKEN) throw new UsageError("SCIM_SYNC_TOKEN is required with --push");
    if (env.GROUP_ROLES) groupRoles = parseGroupRoles(env.GROUP_ROLES);
    client = new ScimClient({ endpoint: httpUrl("SCIM_ENDPOINT", env.SCIM_ENDPOINT, false), token: env.SCIM_TOKEN, pageSize });
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof SettingsError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${usage}`);
    return 2;
  }
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
      process.stderr.write(`error: ${push} answered ${res.status}: ${body.slice(0, 500)}\n`);
      return 1;
    }
    process.stdout.write(
      `${JSON.stringify({ ok: true, ...(JSON.parse(body) as object), users: snapshot.users.length, groups: snapshot.groups.length, scimRequests: client.stats.requests, ms: Date.now() - started })}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`error: sync failed, nothing changed: ${(err as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
