// Prints the mTLS share query for tools/verify/mtls-percent.sh, from its one owner
// (contracts/promql.ts), so the runbook script asks Prometheus exactly what the dashboard shows.
//   node -r ./tools/register.js tools/verify/mtls-query.ts --window 5m --namespace 'maestro.*'
import { parseArgs } from "node:util";
import { mtlsPercentExpr } from "../../contracts/promql";

try {
  const { values } = parseArgs({ options: { window: { type: "string" }, namespace: { type: "string" } } });
  if (!values.window || !values.namespace) throw new Error("--window and --namespace are required");
  process.stdout.write(`${mtlsPercentExpr({ window: values.window, namespace: values.namespace })}\n`);
} catch (err) {
  process.stderr.write(`mtls-query: ${(err as Error).message}\nusage: mtls-query.ts --window DURATION --namespace REGEX\n`);
  process.exit(2);
}
