// `npm run -s app:token -- --sub alice --groups auditors`: mints a development token for `npm run app`.
// Exit 0 with the token on stdout; 2 on bad usage or where development tokens are refused.
import { resolve } from "node:path";
import { mintDevToken } from "./dev-issuer";
import { defaultAudience } from "./settings";
import { flagValue, UsageError } from "../../lib/cli";

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

function parse(argv: string[]): { subject: string; groups: string[]; audience: string; ttlSeconds: number } {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (!["--sub", "--groups", "--audience", "--ttl"].includes(flag)) throw new UsageError(`unknown argument '${arg}'`);
    values[flag] = flagValue(flag, inline ?? argv[++i]);
  }
  if (!values["--sub"]) throw new UsageError("--sub is required");
  const ttl = values["--ttl"] ?? "3600";
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1 || Number(ttl) > 86400) throw new UsageError(`--ttl must be an integer 1-86400 (got '${ttl}')`);
  return {
    subject: values["--sub"],
    groups: (values["--groups"] ?? "")
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== ""),
    audience: values["--audience"] ?? defaultAudience,
    ttlSeconds: Number(ttl),
  };
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage);
    return 0;
  }
  let request: ReturnType<typeof parse>;
  try {
    request = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${usage}`);
    return 2;
  }
  if (env.MAESTRO_ENVIRONMENT === "production") {
    process.stderr.write("error: development tokens are refused in production (MAESTRO_ENVIRONMENT=production)\n");
    return 2;
  }
  if (env.OIDC_ISSUER) {
    process.stderr.write(
      `error: OIDC_ISSUER is set (${env.OIDC_ISSUER}); the service would refuse a development token — get one from that issuer\n`,
    );
    return 2;
  }
  const token = await mintDevToken(resolve(env.MAESTRO_DATA_DIR || ".data"), request);
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
