// `node -r ./tools/register.js tools/db/check-record.ts backup|drill FILE`: holds a record pitr.sh wrote
// to its schema (contracts/records.ts), as the compliance service will read it. The drill workflow
// runs it on drill-record.json. Exit 0 valid (prints the result), 1 invalid or failed, 2 bad usage.
import { readFileSync } from "node:fs";
import { parseCli, runCli, UsageError } from "../../lib/cli";
import { backupRecordSchema, drillRecordSchema, recordProblems } from "../../contracts/records";

const usage = "usage: tools/db/check-record.ts backup|drill FILE";

function main(argv: string[]): number {
  const { positionals } = parseCli(argv, {}, { positionals: true });
  const [kind, file] = positionals;
  if (positionals.length !== 2 || (kind !== "backup" && kind !== "drill")) throw new UsageError("expected backup|drill and one FILE");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    process.stderr.write(`check-record: ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const parsed = (kind === "backup" ? backupRecordSchema : drillRecordSchema).safeParse(json);
  if (!parsed.success) {
    process.stderr.write(`check-record: ${file} is not a ${kind} record: ${recordProblems(parsed.error)}\n`);
    return 1;
  }
  const record = parsed.data;
  process.stdout.write(`${kind} record ${file}: ${record.result}${record.failure ? ` (${record.failure})` : ""}\n`);
  return record.result === "pass" ? 0 : 1;
}

void runCli({ tool: "check-record", usage, main });
