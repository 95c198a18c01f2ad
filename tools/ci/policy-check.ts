// `npm run -s policy:check -- <synth-output-dir> [--format text|json|junit|sarif] [--env NAME]
//  [--bundle file [--key public.pem]]`: conftest-style results for every stack and rule.
import { readFileSync } from "node:fs";
import { loadPolicyBundle, loadUnsignedBundle, shippedBundlePath, type PolicyBundle } from "../../policy-engine/bundle";
import { BundleError } from "../../policy-engine/errors";
import { detectEnvironment, readSynthOutput, runGate, SynthOutputError } from "../../policy-engine/gate";
import { policyParameters } from "../../policy-engine/input";
import { readPublicKey } from "../../policy-engine/keys";
import { formatReport, reportFormats, type ReportFormat } from "../../policy-engine/report";
import { verifyBundle } from "../../policy-engine/verify";
import { ConfigError, loadEnvironment } from "../../config/load";
import { flagValue, UsageError } from "../../lib/cli";

const usage = `usage: npm run -s policy:check -- <synth-output-dir> [options]

Evaluates every policy over every stack in <synth-output-dir> (cdktf.out, or its stacks/ folder).
  --format text|json|junit|sarif   output format (default text)
  --env NAME                       environment whose config the policies compare against
                                   (default: read from the AWS provider's default tags, else staging)
  --bundle FILE                    policy bundle (default policies/dist/bundle.tar.gz)
  --key PUBLIC.pem                 verify --bundle's signature first (refuses unsigned bundles)
exit: 0 no violations, 1 violations, 2 bad usage or unreadable input`;

interface Options {
  dir: string;
  format: ReportFormat;
  env?: string;
  bundle?: string;
  key?: string;
}

function parseArgs(argv: string[]): Options | "help" {
  const positional: string[] = [];
  const options: Partial<Options> = { format: "text" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => flagValue(arg, argv[++i]);
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--format") {
      const format = value();
      if (!(reportFormats as readonly string[]).includes(format))
        throw new UsageError(`--format must be one of ${reportFormats.join(", ")} (got '${format}')`);
      options.format = format as ReportFormat;
    } else if (arg === "--env") options.env = value();
    else if (arg === "--bundle") options.bundle = value();
    else if (arg === "--key") options.key = value();
    else if (arg.startsWith("-")) throw new UsageError(`unknown option '${arg}'`);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new UsageError("expected exactly one <synth-output-dir>");
  if (options.key && !options.bundle) throw new UsageError("--key needs --bundle");
  return { ...options, dir: positional[0] } as Options;
}

async function loadBundle(options: Options): Promise<PolicyBundle> {
  const path = options.bundle ?? shippedBundlePath;
  let archive: Buffer;
  try {
    archive = readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read bundle ${path}: ${(err as Error).message}`);
  }
  if (!options.key) return loadUnsignedBundle(archive);
  const key = readPublicKey(readFileSync(options.key), options.key);
  const verified = await verifyBundle(archive, { keys: { default: key } });
  return loadPolicyBundle(verified.files);
}

async function main(argv: string[]): Promise<number> {
  const options = parseArgs(argv);
  if (options === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const stacks = readSynthOutput(options.dir);
  const config = loadEnvironment(options.env ?? detectEnvironment(stacks) ?? "staging");
  const report = runGate(await loadBundle(options), stacks, policyParameters(config));
  process.stdout.write(formatReport(report, options.format));
  return report.violations.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    const known = err instanceof UsageError || err instanceof SynthOutputError || err instanceof ConfigError || err instanceof BundleError;
    process.stderr.write(`policy:check: ${known ? (err as Error).message : (err as Error).stack}\n`);
    if (err instanceof UsageError) process.stderr.write(`${usage}\n`);
    process.exitCode = 2;
  },
);
