// A write burst against the service's audit log, for crash tests: opens the database the way the
// service does (PGlite under MAESTRO_DATA_DIR, or DATABASE_URL), appends events with a few in
// flight, and prints "ack <id>" only after append resolved. The test kill -9s it mid-burst.
import { migrate, openDb } from "../app/db";
import { createAuditLog } from "../app/audit/log";

async function main(): Promise<void> {
  const db = await openDb({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir: process.env.MAESTRO_DATA_DIR ?? ".data" });
  await migrate(db);
  const audit = createAuditLog(db);
  process.stdout.write("ready\n");
  const inFlight = Number(process.env.IN_FLIGHT ?? 4);
  let n = 0;
  const worker = async () => {
    for (;;) {
      const entry = await audit.append({ type: "test.burst", actor: "writer", details: { n: n++ } });
      process.stdout.write(`ack ${entry.id}\n`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
