// `npm run -s policy:check -- <synth-output-dir> [--format text|json|junit|sarif] [--env NAME]
//  [--bundle file [--key public.pem]]`: conftest-style results for every stack and rule.
import { readFileSync } from "node:fs";
import { loadPolicyBundle, loadUnsignedBundle, shippedBundlePath, type PolicyBundle } from "../../policy-engine/bundle";
import { detectEnvironment, readSynthOutput, runGate } from "../../policy-engine/gate";
import { policyParameters } from "../../policy-engine/input";
import { readPublicKey } from "../../policy-engine/keys";
import { formatReport, reportFormats, type ReportFormat } from "../../policy-engine/report";
import { verifyBundle } from "../../policy-engine/verify";
import { loadEnvironment } from "../../config/load";
import { oneOf, parseCli, runCli, UsageError } from "../../lib/cli";

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

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseCli(
    argv,
    { format: { type: "string" }, env: { type: "string" }, bundle: { type: "string" }, key: { type: "string" } },
    { positionals: true },
  );
  if (positionals.length !== 1) throw new UsageError("expected exactly one <synth-output-dir>");
  if (values.key && !values.bundle) throw new UsageError("--key needs --bundle");
  const format = oneOf("--format", values.format, reportFormats) ?? "text";
  return { dir: positionals[0], format, env: values.env, bundle: values.bundle, key: values.key };
}

async function loadBundle(options: Options): Promise<PolicyBundle> {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const archive = read(options.bundle ?? shippedBundlePath, "bundle");
  if (!options.key) return loadUnsignedBundle(archive);
  const key = readPublicKey(read(options.key, "key"), options.key);
  const verified = await verifyBundle(archive, { keys: { default: key } });
  return loadPolicyBundle(verified.files);
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const stacks = readSynthOutput(options.dir);
  const config = loadEnvironment(options.env ?? detectEnvironment(stacks) ?? "staging");
  const report = runGate(await loadBundle(options), stacks, policyParameters(config));
  process.stdout.write(formatReport(report, options.format));
  return report.violations.length > 0 ? 1 : 0;
}

// Unreadable input (synth output, config, bundle) is bad usage here: 1 means violations.
void runCli({ tool: "policy:check", usage, main, exitCode: () => 2 });
