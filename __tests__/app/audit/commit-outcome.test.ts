import { migrate, openDb, type Db } from "../../../app/db";
import { createAuditLog } from "../../../app/audit/log";
import { describeWithService } from "../../support/services";
import { postgresMissing, startPostgres, type RunningPostgres } from "../../../harness/postgres";
import { startTcpProxy, type TcpProxy } from "../../../harness/tcp-proxy";

// The one failure a retry can make worse: the server committed, the answer was lost with the
// connection. The relay delivers the COMMIT and then resets the connection before the reply.

/** The wire message of the pool's COMMIT: simple Query ('Q', int32 length, "commit\0"). */
const commitMessage = Buffer.concat([Buffer.from("Q"), Buffer.from([0, 0, 0, 11]), Buffer.from("commit\0")]);

describeWithService("a transaction whose connection is lost (Postgres 15 through a relay)", postgresMissing, () => {
  let pg: RunningPostgres;
  let proxy: TcpProxy;
  let db: Db;

  beforeAll(async () => {
    pg = await startPostgres();
    proxy = await startTcpProxy({ host: "127.0.0.1", port: pg.port });
    db = await openDb({ databaseUrl: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, dataDir: pg.dir });
    await migrate(db);
    await db.query("create table probe_rows (v text not null)");
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await pg?.stop();
  });

  test("an audit append whose commit answer was lost is re-run and found by its delivery key: in the log once", async () => {
    const audit = createAuditLog(db);
    await audit.append({ type: "test.before", actor: "tester" });
    const sprung = proxy.loseAnswerTo(commitMessage);
    const entry = await audit.append({ type: "test.answer-lost", actor: "tester" });
    await sprung;
    const rows = await pg.query<{ id: string; type: string }>("select id, type from audit_log order by id");
    expect(rows.map((r) => r.type)).toEqual(["test.before", "test.answer-lost"]);
    expect(entry).toMatchObject({ id: 2, type: "test.answer-lost" });
    expect((await audit.list({ fromId: 2, toId: 2 }))[0].hash).toBe(entry.hash);
  }, 60_000);

  test("a transaction that is not idempotent fails with COMMIT_OUTCOME_UNKNOWN instead of running twice (it did commit)", async () => {
    const sprung = proxy.loseAnswerTo(commitMessage);
    await expect(db.transaction((tx) => tx.query("insert into probe_rows (v) values ($1)", ["once"]))).rejects.toMatchObject({
      code: "COMMIT_OUTCOME_UNKNOWN",
    });
    await sprung;
    expect(await pg.query("select v from probe_rows where v = 'once'")).toEqual([{ v: "once" }]);
  }, 60_000);

  test("a transaction whose connection died before commit is rolled back by the server and re-run: one row", async () => {
    const sprung = proxy.loseAnswerTo(Buffer.from("insert into probe_rows (v) values ($1)"));
    await db.transaction((tx) => tx.query("insert into probe_rows (v) values ($1)", ["retried"]));
    await sprung;
    expect(await pg.query("select v from probe_rows where v = 'retried'")).toEqual([{ v: "retried" }]);
  }, 60_000);
});
