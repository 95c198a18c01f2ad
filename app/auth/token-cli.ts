// `npm run -s app:token -- --sub alice --groups auditors`: mints a development token for `npm run app`.
// Exit 0 with the token on stdout; 2 on bad usage or where development tokens are refused.
import { resolve } from "node:path";
import { mintDevToken } from "./dev-issuer";
import { defaultAudience } from "./settings";
import { parseCli, runCli, UsageError } from "../../lib/cli";
import { MaestroError } from "../../lib/errors";

const usage = `usage: npm run -s app:token -- --sub SUBJECT [--groups g1,g2] [--audience AUD] [--ttl SECONDS]

Mints a token from the development issuer (key under MAESTRO_DATA_DIR, default .data/) that the
service accepts when no OIDC_ISSUER is configured. Refused when MAESTRO_ENVIRONMENT=production or
OIDC_ISSUER is set. Default group mapping: auditors→auditor, viewers→viewer, operators→operator,
platform-admins→admin.

  --sub SUBJECT     the token's sub (required)
  --groups LIST     comma-separated groups claim (default: none)
  --audience AUD    aud claim (default: ${defaultAudience})
  --ttl SECONDS     lifetime, 1-86400 (default: 3600)
`;

/** Development tokens are refused here (production, or a real issuer configured): exit 2. */
export class DevTokenRefusedError extends MaestroError<"DEV_TOKEN_REFUSED"> {
  constructor(message: string) {
    super("DEV_TOKEN_REFUSED", message);
  }
}

function parse(argv: string[]): { subject: string; groups: string[]; audience: string; ttlSeconds: number } {
  const { values } = parseCli(argv, {
    sub: { type: "string" },
    groups: { type: "string" },
    audience: { type: "string" },
    ttl: { type: "string" },
  });
  if (!values.sub) throw new UsageError("--sub is required");
  const ttl = values.ttl ?? "3600";
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1 || Number(ttl) > 86400) throw new UsageError(`--ttl must be an integer 1-86400 (got '${ttl}')`);
  return {
    subject: values.sub,
    groups: (values.groups ?? "")
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== ""),
    audience: values.audience ?? defaultAudience,
    ttlSeconds: Number(ttl),
  };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const request = parse(argv);
  if (env.MAESTRO_ENVIRONMENT === "production")
    throw new DevTokenRefusedError("development tokens are refused in production (MAESTRO_ENVIRONMENT=production)");
  if (env.OIDC_ISSUER)
    throw new DevTokenRefusedError(
      `OIDC_ISSUER is set (${env.OIDC_ISSUER}); the service would refuse a development token — get one from that issuer`,
    );
  const token = await mintDevToken(resolve(env.MAESTRO_DATA_DIR || ".data"), request);
  process.stdout.write(`${token}\n`);
  return 0;
}

// Refused (production, a real issuer) is 2, as bad usage.
void runCli({ tool: "app:token", usage: usage.trimEnd(), main: (argv) => main(argv, process.env), exitCode: () => 2 });
