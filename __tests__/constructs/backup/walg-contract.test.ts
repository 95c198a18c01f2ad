// CONTRACT TEST, not WAL-G: WAL-G cannot be built here (the Go module proxy refuses its module), so
// this suite runs, against a real Postgres set up exactly as the backup stack sets it up, every
// statement WAL-G 3.0.9's remote `backup-push` issues, as the replicator role, connecting exactly
// as the base-backup CronJob's synthesized env says. The list of statements comes from WAL-G's
// source (internal/databases/postgres: Connect, GetPgServerInfo, the remote backup handler); docs/dr.md
// lists each with the privilege it needs. `wal-g delete retain` talks only to the bucket.
//
// Stand-ins, each said where it is made: the Service host and port become 127.0.0.1 and a free
// port; the Kubernetes Secret becomes a map of test passwords; the official image's entrypoint
// (initdb, superuser password, POSTGRES_DB, its `host all all all scram-sha-256` line, then the
// /docker-entrypoint-initdb.d scripts) is done step by step here; archive_command becomes `true`
// (a wal-push that always succeeds), since BASE_BACKUP waits for its WAL to be archived.
import { execFile, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { loadEnvironment } from "../../../config/load";
import { replicatorInitScript } from "../../../constructs/backup/walg-backup";
import { fromTerraformLiteral } from "../../../constructs/terraform/literal";
import { freePort } from "../../../lib/net";
import { giveToServerUser, postgresBinDir, postgresMissing, serverUser } from "../../../harness/postgres";
import { describeWithService } from "../../support/services";
import { resourcesOf, synthAll, type StackJson } from "../../../harness/synth";

const run = promisify(execFile);
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the backup stack synthesizes for the database and its base-backup job (read, never retyped). */
function deployed(stack: StackJson) {
  const byName = (type: string, name: string) =>
    Object.values(resourcesOf(stack, type)).find((r) => (r as Obj).metadata.name === name) as Obj;
  const primary = byName("kubernetes_stateful_set_v1", "postgres").spec.template.spec.container[0];
  const args = primary.args as string[];
  const settings: Record<string, string> = {};
  args.forEach((a, i) => {
    if (args[i - 1] === "-c") settings[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
  });
  const envOf = (container: Obj) =>
    Object.fromEntries(
      (container.env as Obj[]).map((e) => [
        e.name,
        e.value ?? { secret: e.value_from.secret_key_ref.name, key: e.value_from.secret_key_ref.key },
      ]),
    );
  const job = byName("kubernetes_cron_job_v1", "postgres-base-backup").spec.job_template.spec.template.spec.container[0];
  const init = byName("kubernetes_config_map_v1", "postgres-init").data as Record<string, string>;
  return { settings, serverEnv: envOf(primary), jobEnv: envOf(job), initScript: fromTerraformLiteral(init[replicatorInitScript]) };
}

/** WAL-G 3.0.9 remote backup-push, in order: the ordinary connection's statements (from Connect and GetPgServerInfo). */
export const walgOrdinaryStatements = [
  "select (current_setting('server_version_num'))::int",
  "select system_identifier from pg_control_system();",
  "show data_directory",
  "select timeline_id, bytes_per_wal_segment from pg_control_checkpoint(), pg_control_init()",
];
/** Then, on a replication connection (replication=yes), the PostgreSQL 15+ form of the backup command. */
export const walgReplicationCommand = "BASE_BACKUP (LABEL 'wal-g', CHECKPOINT 'fast', TABLESPACE_MAP, VERIFY_CHECKSUMS false)";

describeWithService("WAL-G's backup-push against Postgres as the backup stack configures it (contract test)", postgresMissing, () => {
  const secret = { "superuser-password": "super-Secret-1", "replication-password": "repl-Secret-2" };
  let dir: string;
  let dataDir: string;
  let port: number;
  let spec: ReturnType<typeof deployed>;
  const pgCtl = (args: string[]) =>
    run(join(postgresBinDir, "pg_ctl"), ["-D", dataDir, ...args], {
      ...(serverUser ?? {}),
      cwd: "/",
      env: { ...process.env, LC_ALL: "C" },
    });
  const superuser = () =>
    new Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", password: secret["superuser-password"] });

  /** The job's connection settings: its env, with the Secret reference resolved and the Service host replaced. */
  function jobConnection(overrides: Record<string, string | undefined> = {}) {
    const env = spec.jobEnv as Record<string, string | { secret: string; key: keyof typeof secret }>;
    const password = env.PGPASSWORD as { secret: string; key: keyof typeof secret };
    expect(password.secret).toBe("postgres-credentials");
    const conn: Record<string, string | undefined> = {
      PGHOST: "127.0.0.1", // stands for env.PGHOST, the Service postgres.maestro-data.svc
      PGPORT: String(port), // stands for env.PGPORT (5432)
      PGUSER: env.PGUSER as string,
      PGDATABASE: env.PGDATABASE as string | undefined,
      PGPASSWORD: secret[password.key],
      ...overrides,
    };
    return conn;
  }
  /** The ordinary connection WAL-G opens, with libpq's defaults (an unset PGDATABASE means the user name). */
  async function ordinary(conn: Record<string, string | undefined>) {
    const client = new Client({
      host: conn.PGHOST,
      port: Number(conn.PGPORT),
      user: conn.PGUSER,
      password: conn.PGPASSWORD,
      database: conn.PGDATABASE ?? conn.PGUSER,
    });
    await client.connect();
    return client;
  }
  /** WAL-G's second connection: physical replication (`replication=yes`), same host, user and password. */
  const replicationPsql = (conn: Record<string, string | undefined>, command: string) =>
    spawnSync(
      join(postgresBinDir, "psql"),
      ["-X", "-A", "-t", "-c", command, `host=${conn.PGHOST} port=${conn.PGPORT} user=${conn.PGUSER} replication=yes`],
      {
        env: { PATH: process.env.PATH, PGPASSWORD: conn.PGPASSWORD, PGCONNECT_TIMEOUT: "5" },
        cwd: "/",
        encoding: "buffer",
        maxBuffer: 256 << 20,
      },
    );

  beforeAll(async () => {
    spec = deployed((await synthAll("staging")).backup);
    dir = mkdtempSync(join(tmpdir(), "maestro-walg-contract-"));
    chmodSync(dir, 0o755);
    dataDir = join(dir, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    giveToServerUser(dir);
    // The image's initdb: superuser `postgres` with POSTGRES_PASSWORD, local socket trust.
    const pwfile = join(dir, "pw");
    writeFileSync(pwfile, `${secret["superuser-password"]}\n`);
    giveToServerUser(pwfile);
    await run(
      join(postgresBinDir, "initdb"),
      ["-D", dataDir, "-U", "postgres", "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
      {
        ...(serverUser ?? {}),
        cwd: "/",
        env: { ...process.env, LC_ALL: "C" },
      },
    );
    // The image's pg_setup_hba_conf: every host may connect with a password.
    appendFileSync(join(dataDir, "pg_hba.conf"), "\nhost all all all scram-sha-256\n");
    port = await freePort();
    const settings = { ...spec.settings, archive_command: "true" };
    expect(Object.keys(spec.settings)).toEqual(expect.arrayContaining(["wal_level", "archive_mode", "max_wal_senders", "archive_command"]));
    const options = [
      `-c port=${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      "-c fsync=off",
      ...Object.entries(settings).map(([k, v]) => `-c ${k}='${v.replace(/'/g, "''")}'`),
    ].join(" ");
    await pgCtl(["-l", join(dir, "postgres.log"), "-w", "-t", "30", "-o", options, "start"]);
    // The image: POSTGRES_DB, then every script of /docker-entrypoint-initdb.d, with the pod's env.
    const admin = superuser();
    await admin.connect();
    await admin.query(`create database ${spec.serverEnv.POSTGRES_DB}`);
    await admin.end();
    const script = join(dir, replicatorInitScript);
    writeFileSync(script, spec.initScript);
    const init = spawnSync("sh", [script], {
      encoding: "utf8",
      cwd: "/",
      env: {
        PATH: `${postgresBinDir}:${process.env.PATH}`,
        PGDATA: dataDir,
        PGHOST: dir,
        PGPORT: String(port),
        REPLICATION_PASSWORD: secret["replication-password"],
      },
    });
    expect({ status: init.status, stderr: init.stderr }).toEqual({ status: 0, stderr: "" });
    await pgCtl(["-w", "reload"]);
  }, 60_000);

  afterAll(async () => {
    if (dataDir) await pgCtl(["-m", "immediate", "-w", "stop"]).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the deployed Postgres is the major these tests run", () => {
    const tag = loadEnvironment("staging").images.postgres.tag;
    const tested = /PostgreSQL\) (\d+)/.exec(spawnSync(join(postgresBinDir, "postgres"), ["--version"], { encoding: "utf8" }).stdout)![1];
    expect(tag.split(".")[0]).toBe(tested);
    expect(loadEnvironment("production").images.postgres.tag.split(".")[0]).toBe(tested);
  });

  test("the job's env names the database WAL-G's ordinary connection opens", () => {
    expect(jobConnection()).toMatchObject({ PGUSER: "replicator", PGDATABASE: "postgres" });
  });

  test("every statement of the ordinary connection runs as the replicator, as the job connects", async () => {
    const client = await ordinary(jobConnection());
    try {
      for (const sql of walgOrdinaryStatements) {
        const result = await client.query(sql);
        expect({ sql, rows: result.rows.length }).toEqual({ sql, rows: 1 });
      }
      expect((await client.query("show data_directory")).rows[0].data_directory).toBe(dataDir);
    } finally {
      await client.end();
    }
  });

  test("the replication connection takes the base backup (BASE_BACKUP streams the archive)", () => {
    const result = replicationPsql(jobConnection(), walgReplicationCommand);
    const stderr = result.stderr.toString();
    expect(stderr).not.toMatch(/ERROR|FATAL/);
    // The tar stream of the base directory: backup_label and the tablespace map lead it.
    expect(result.stdout.includes(Buffer.from("backup_label"))).toBe(true);
    expect(result.stdout.length).toBeGreaterThan(1 << 20);
  });

  test("negative control: without PGDATABASE, WAL-G connects to a database named after the user and fails", async () => {
    await expect(ordinary(jobConnection({ PGDATABASE: undefined }))).rejects.toMatchObject({
      code: "3D000",
      message: 'database "replicator" does not exist',
    });
  });

  test("negative control: without pg_read_all_settings, show data_directory is refused", async () => {
    const admin = superuser();
    await admin.connect();
    await admin.query("revoke pg_read_all_settings from replicator");
    try {
      const client = await ordinary(jobConnection());
      try {
        await expect(client.query("show data_directory")).rejects.toMatchObject({
          code: "42501",
          message: 'must be superuser or have privileges of pg_read_all_settings to examine "data_directory"',
        });
      } finally {
        await client.end();
      }
    } finally {
      await admin.query("grant pg_read_all_settings to replicator");
      await admin.end();
    }
  });

  test("negative control: without the init script's pg_hba line (and no catch-all), the ordinary connection is refused", async () => {
    const hba = join(dataDir, "pg_hba.conf");
    const original = readFileSync(hba, "utf8");
    // initdb's own `host all all 127.0.0.1/32` lines go too: a job pod never connects from loopback.
    const noCatchAll = original.replace(/^host\s+all\s+all\s+.*$/gm, "");
    writeFileSync(hba, noCatchAll.replace(/^host postgres replicator all scram-sha-256$/m, ""));
    await pgCtl(["-w", "reload"]);
    try {
      await expect(ordinary(jobConnection())).rejects.toMatchObject({ code: "28000" });
      // ...while the line the init script writes is enough by itself.
      writeFileSync(hba, noCatchAll);
      await pgCtl(["-w", "reload"]);
      await (await ordinary(jobConnection())).end();
    } finally {
      writeFileSync(hba, original);
      await pgCtl(["-w", "reload"]);
    }
  });

  test("negative control: a role without REPLICATION cannot open the replication connection", async () => {
    const admin = superuser();
    await admin.connect();
    await admin.query("alter role replicator noreplication");
    try {
      const result = replicationPsql(jobConnection(), walgReplicationCommand);
      expect(result.stderr.toString()).toMatch(/must be superuser or replication role to start walsender/);
    } finally {
      await admin.query("alter role replicator replication");
      await admin.end();
    }
  });
});
