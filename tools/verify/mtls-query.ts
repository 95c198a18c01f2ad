// Prints the mTLS share query for tools/verify/mtls-percent.sh, from its one owner
// (contracts/promql.ts), so the runbook script asks Prometheus exactly what the dashboard shows.
//   node -r ./tools/register.js tools/verify/mtls-query.ts --window 5m --namespace 'maestro.*'
import { mtlsPercentExpr } from "../../contracts/promql";
import { parseCli, runCli, UsageError } from "../../lib/cli";

const usage = "usage: mtls-query.ts --window DURATION --namespace REGEX";

function main(argv: string[]): number {
  const { values } = parseCli(argv, { window: { type: "string" }, namespace: { type: "string" } });
  if (!values.window || !values.namespace) throw new UsageError("--window and --namespace are required");
  process.stdout.write(`${mtlsPercentExpr({ window: values.window, namespace: values.namespace })}\n`);
  return 0;
}

void runCli({ tool: "mtls-query", usage, main });
