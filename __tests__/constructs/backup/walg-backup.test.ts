import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { environments, validateEnvironment } from "../../../config/load";
import type { EnvironmentInput } from "../../../config/schema";
import { WalgBackup, backupRetentionDays, type WalgBackupProps } from "../../../constructs/backup/walg-backup";
import { fromTerraformLiteral } from "../../../constructs/terraform/literal";
import { synthAll, resourcesOf, type StackJson } from "../../../harness/synth";

type Resource = Record<string, unknown>;
/** The one resource of a type that belongs to the archive bucket itself (not its replica or its log bucket). */
const one = (stack: StackJson, type: string): Resource => {
  const all = Object.entries(resourcesOf(stack, type))
    .filter(([k]) => k.startsWith("postgres_") && !/replica|access-logs/.test(k))
    .map(([, r]) => r);
  expect(all).toHaveLength(1);
  return all[0];
};
const byName = (stack: StackJson, type: string, name: string): Resource => {
  const found = Object.values(resourcesOf(stack, type)).find((r) => (r.metadata as { name: string }).name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
// Kubernetes pod spec → its first container, and the Postgres settings passed as `-c key=value`.
const podOf = (r: Resource, path: "statefulset" | "cronjob") => {
  const spec = r.spec as Record<string, never>;
  return (path === "statefulset" ? spec["template"]["spec"] : spec["job_template"]["spec"]["template"]["spec"]) as {
    container: Array<{ args?: string[]; command?: string[]; env?: Array<{ name: string; value?: string; value_from?: unknown }> }>;
    init_container?: Array<{ image: string; command: string[] }>;
    service_account_name: string;
  };
};
const settingsOf = (args: string[]) => {
  const settings: Record<string, string> = {};
  args.forEach((a, i) => {
    if (args[i - 1] === "-c") settings[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
  });
  return settings;
};
const policyOf = (stack: StackJson, roleId: "writer" | "restore") => {
  const r = Object.entries(resourcesOf(stack, "aws_iam_role_policy")).find(([k]) => k.includes(`${roleId}-policy`));
  return JSON.parse((r![1] as { policy: string }).policy) as {
    Statement: Array<{ Action: string | string[]; Resource: string; Condition?: unknown }>;
  };
};

describe.each(["staging", "production"] as const)("backup stack (%s)", (env) => {
  let stack: StackJson;
  const cfg = environments[env].backup;
  beforeAll(async () => {
    stack = (await synthAll(env)).backup;
  });

  test("the backup bucket is versioned, KMS-encrypted, owner-enforced, TLS-only and blocks public access", () => {
    expect(one(stack, "aws_s3_bucket").bucket).toBe(cfg.bucketName);
    expect(one(stack, "aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
    const sse = one(stack, "aws_s3_bucket_server_side_encryption_configuration").rule as Array<Record<string, Record<string, string>>>;
    expect(sse[0].apply_server_side_encryption_by_default.sse_algorithm).toBe("aws:kms");
    expect(sse[0].apply_server_side_encryption_by_default.kms_master_key_id).toMatch(/^\$\{aws_kms_key\..*\.arn\}$/);
    expect(one(stack, "aws_kms_key").enable_key_rotation).toBe(true);
    const pab = one(stack, "aws_s3_bucket_public_access_block");
    for (const flag of ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"])
      expect(pab[flag]).toBe(true);
    expect(one(stack, "aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    const policy = JSON.parse(one(stack, "aws_s3_bucket_policy").policy as string);
    expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  test("Object Lock exactly where config asks, locked as long as retention keeps a backup", () => {
    const locks = Object.values(resourcesOf(stack, "aws_s3_bucket_object_lock_configuration"));
    if (cfg.objectLock) {
      expect(one(stack, "aws_s3_bucket").object_lock_enabled).toBe(true);
      // The archive and its replica, locked alike.
      expect(locks).toHaveLength(2);
      for (const lock of locks)
        expect((lock.rule as Record<string, unknown>).default_retention).toEqual({
          mode: "COMPLIANCE",
          days: backupRetentionDays(cfg.baseBackupSchedule, cfg.retainFullBackups),
        });
    } else {
      expect(one(stack, "aws_s3_bucket").object_lock_enabled).toBeUndefined();
      expect(locks).toHaveLength(0);
    }
  });

  test("the writer role can write only under the prefix; the restore role only read", () => {
    const prefixArn = `arn:aws:s3:::${cfg.bucketName}/${cfg.prefix}/*`;
    for (const [roleId, expected] of [
      ["writer", ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]],
      ["restore", ["s3:GetObject"]],
    ] as const) {
      const [objects, list, kms] = policyOf(stack, roleId).Statement;
      expect(objects).toMatchObject({ Action: expected, Resource: prefixArn });
      expect(list).toMatchObject({ Action: "s3:ListBucket", Condition: { StringLike: { "s3:prefix": [`${cfg.prefix}/*`, cfg.prefix] } } });
      expect(JSON.stringify(kms.Action)).not.toContain("*");
    }
    const trust = Object.entries(resourcesOf(stack, "aws_iam_role"))
      .filter(([k]) => !k.includes("replica"))
      .map(([, r]) => JSON.parse(r.assume_role_policy as string));
    const subjects = trust.map((t) => Object.values(t.Statement[0].Condition.StringEquals)[0] as string[]);
    expect(subjects.sort((a, b) => b.length - a.length)).toEqual([
      ["system:serviceaccount:maestro-data:postgres", "system:serviceaccount:maestro-data:postgres-backup"],
      ["system:serviceaccount:maestro-data:postgres-restore"],
    ]);
  });

  test("the archive is replicated to the second region from config, under its own key, locked as the source", () => {
    const replica = cfg.replica;
    const buckets = Object.values(resourcesOf(stack, "aws_s3_bucket"));
    const copy = buckets.find((b) => b.bucket === replica.bucketName)!;
    expect(copy.provider).toBe(`aws.${replica.region.replace(/-/g, "_")}`);
    expect(copy.object_lock_enabled).toBe(cfg.objectLock ? true : undefined);
    const [rule] = Object.values(resourcesOf(stack, "aws_s3_bucket_replication_configuration"))[0].rule as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(rule).toMatchObject({
      status: "Enabled",
      filter: { prefix: `${cfg.prefix}/` },
      delete_marker_replication: { status: "Enabled" },
      source_selection_criteria: { sse_kms_encrypted_objects: { status: "Enabled" } },
      destination: { storage_class: "STANDARD" },
    });
    expect(rule.destination.encryption_configuration.replica_kms_key_id).toMatch(/^\$\{aws_kms_key\.postgres_replica_key_\w+\.arn\}$/);
    // The restore role may read the replica (pitr.sh --source replica), and the outputs name it.
    const restore = JSON.stringify(policyOf(stack, "restore"));
    expect(restore).toContain(`arn:aws:s3:::${replica.bucketName}/${cfg.prefix}/*`);
    const out = Object.fromEntries(Object.entries(stack.output ?? {}).map(([k, v]) => [k, v.value]));
    expect(out).toMatchObject({
      replica_bucket: replica.bucketName,
      replica_region: replica.region,
      replica_walg_s3_prefix: `s3://${replica.bucketName}/${cfg.prefix}`,
    });
  });

  test("every KMS key has a key policy; the archive's access is logged; interrupted uploads are aborted", () => {
    for (const key of Object.values(resourcesOf(stack, "aws_kms_key"))) expect(JSON.parse(key.policy as string).Statement).toHaveLength(1);
    const logging = one(stack, "aws_s3_bucket_logging");
    expect(logging.target_bucket).toMatch(/^\$\{aws_s3_bucket\.postgres_access-logs_\w+\.id\}$/);
    const rules = one(stack, "aws_s3_bucket_lifecycle_configuration").rule as Array<Record<string, unknown>>;
    expect(rules.find((r) => r.id === "abort-incomplete-uploads")).toMatchObject({
      filter: [{ prefix: "" }],
      abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
    });
  });

  test("Postgres archives through wal-g wal-push with archive_timeout from config", () => {
    const pod = podOf(byName(stack, "kubernetes_stateful_set_v1", "postgres"), "statefulset");
    const settings = settingsOf(pod.container[0].args!);
    expect(settings).toMatchObject({
      archive_mode: "on",
      archive_command: "/walg/bin/wal-g wal-push %p",
      archive_timeout: String(cfg.archiveTimeoutSeconds),
      wal_level: "replica",
      track_commit_timestamp: "on",
    });
    expect(pod.init_container![0].image).toBe(`${environments[env].images.walg.repository}:${environments[env].images.walg.tag}`);
    expect(pod.service_account_name).toBe("postgres");
  });

  test("a base-backup CronJob on the configured schedule applies retention", () => {
    const cron = byName(stack, "kubernetes_cron_job_v1", "postgres-base-backup");
    expect((cron.spec as Record<string, unknown>).schedule).toBe(cfg.baseBackupSchedule);
    expect((cron.spec as Record<string, unknown>).concurrency_policy).toBe("Forbid");
    // pitr.sh runs `wal-g backup-push`, then retention, then publishes the record (its tests).
    const pod = podOf(cron, "cronjob");
    expect(pod.container[0].command).toEqual([
      "bash",
      "/drill/pitr.sh",
      "base-backup",
      "--driver",
      "wal-g",
      "--retain-full",
      String(cfg.retainFullBackups),
      "--publish",
    ]);
    const env = Object.fromEntries(pod.container[0].env!.map((e) => [e.name, e.value ?? e.value_from]));
    expect(env).toMatchObject({ PGUSER: "replicator", PGDATABASE: "postgres", PGPORT: "5432", PGHOST: "postgres.maestro-data.svc" });
    expect(pod.init_container!.map((c) => c.command)).toEqual([["cp", "/usr/local/bin/wal-g", "/walg/bin/wal-g"]]);
  });

  test("a standby replica exactly where config asks", () => {
    const standby = Object.values(resourcesOf(stack, "kubernetes_stateful_set_v1")).filter(
      (r) => (r.metadata as { name: string }).name === "postgres-standby",
    );
    expect(standby).toHaveLength(cfg.standbyReplica ? 1 : 0);
    if (cfg.standbyReplica) {
      const settings = settingsOf(podOf(standby[0], "statefulset").container[0].args!);
      expect(settings.restore_command).toBe("/walg/bin/wal-g wal-fetch %f %p");
      expect(settings.primary_conninfo).toContain("password=$(REPLICATION_PASSWORD)");
    }
  });

  test("the restore job template is a suspended CronJob running pitr.sh with the wal-g driver", () => {
    const cron = byName(stack, "kubernetes_cron_job_v1", "postgres-restore-drill");
    expect((cron.spec as Record<string, unknown>).suspend).toBe(true);
    const pod = podOf(cron, "cronjob");
    expect(pod.container[0].command).toEqual([
      "bash",
      "/drill/pitr.sh",
      "--driver",
      "wal-g",
      "--target-dir",
      "/restore/data",
      "--port",
      "5432",
      "--publish",
    ]);
    expect(pod.service_account_name).toBe("postgres-restore");
    const script = byName(stack, "kubernetes_config_map_v1", "postgres-pitr").data as Record<string, string>;
    // Terraform reads ${...} in any string as an interpolation: the script ships escaped, and
    // what Terraform makes of it is the file byte for byte.
    const shipped = readFileSync(join(__dirname, "..", "..", "..", "tools", "db", "pitr.sh"), "utf8");
    expect(fromTerraformLiteral(script["pitr.sh"])).toBe(shipped);
    expect(script["pitr.sh"]).not.toBe(shipped);
  });

  test("outputs carry what a drill needs, and nothing secret", () => {
    const out = Object.fromEntries(Object.entries(stack.output ?? {}).map(([k, v]) => [k, v.value]));
    expect(out).toMatchObject({
      bucket: cfg.bucketName,
      prefix: cfg.prefix,
      region: environments[env].region,
      walg_s3_prefix: `s3://${cfg.bucketName}/${cfg.prefix}`,
      database_name: cfg.databaseName,
      archive_timeout_seconds: cfg.archiveTimeoutSeconds,
      restore_job_template: "maestro-data/cronjob/postgres-restore-drill",
    });
    expect(out.drill_command).toBe(
      "npx cdktf output backup --outputs-file backup-outputs.json && ISO_TS=<ISO_TS> tools/db/pitr.sh --driver wal-g" +
        " --outputs backup-outputs.json --target-dir ./pitr-restore --record drill-record.json --publish",
    );
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/password|secret|AKIA|BEGIN [A-Z ]*PRIVATE KEY/i);
    // Secrets appear in the stack only as references to a Kubernetes Secret.
    const secretEnv = JSON.stringify(stack).match(/"name":"(POSTGRES_PASSWORD|REPLICATION_PASSWORD|PGPASSWORD)"[^}]*\}/g) ?? [];
    expect(secretEnv.length).toBeGreaterThan(0);
    for (const e of secretEnv) expect(e).not.toContain('"value":');
  });
});

test("archive_timeout follows config (RPO)", async () => {
  const input = structuredClone(environments.staging) as EnvironmentInput;
  input.backup.archiveTimeoutSeconds = 120;
  const stack = (await synthAll(validateEnvironment("staging", input))).backup;
  const sts = Object.values(resourcesOf(stack, "kubernetes_stateful_set_v1"))[0];
  expect(settingsOf(podOf(sts, "statefulset").container[0].args!).archive_timeout).toBe("120");
  expect(stack.output?.archive_timeout_seconds.value).toBe(120);
});

describe("WalgBackup refuses bad props, naming the prop", () => {
  const base = (): WalgBackupProps => {
    const stack = new TerraformStack(new App(), "t");
    return {
      aws: new AwsProvider(stack, "aws", { region: "eu-west-1" }),
      kubernetes: new KubernetesProvider(stack, "k8s", {}),
      namespace: "data",
      databaseName: "db",
      postgresImage: "postgres:16.4",
      walgImage: "wal-g:v3",
      bucketName: "b-backups",
      prefix: "walg/db",
      region: "eu-west-1",
      oidcProvider: "oidc.example/id/X",
      accountId: "111111111111",
      baseBackupSchedule: "0 1 * * *",
      retainFullBackups: 3,
      archiveTimeoutSeconds: 60,
      storageSize: "10Gi",
      pitrScript: "#!/bin/sh\n",
    };
  };
  test.each<[string, Partial<WalgBackupProps>, RegExp]>([
    [
      "prefix with a trailing slash",
      { prefix: "walg/" },
      /^WalgBackup: prefix must be a key prefix of \[a-z0-9-\] segments without leading or trailing '\/' \(got "walg\/"\)$/,
    ],
    ["zero full backups", { retainFullBackups: 0 }, /^WalgBackup: retainFullBackups must be an integer >= 1/],
    ["archive_timeout of 5 s", { archiveTimeoutSeconds: 5 }, /^WalgBackup: archiveTimeoutSeconds must be an integer 10-3600/],
    ["a 6-field schedule", { baseBackupSchedule: "0 0 1 * * *" }, /^WalgBackup: baseBackupSchedule must be a 5-field cron/],
    [
      "a lock of 0 days",
      { objectLock: { mode: "COMPLIANCE", retentionDays: 0 } },
      /^WalgBackup: objectLock\.retentionDays must be an integer >= 1/,
    ],
  ])("%s", (_label, change, message) => {
    const props = { ...base(), ...change };
    expect(() => new WalgBackup(new TerraformStack(new App(), "x"), "w", props)).toThrow(message);
  });

  test("retention window: daily × 14 is 14 days, every 6 h × 3 is 1 day, weekdays count the weekend gap", () => {
    expect(backupRetentionDays("0 1 * * *", 14)).toBe(14);
    expect(backupRetentionDays("0 */6 * * *", 3)).toBe(1);
    expect(backupRetentionDays("0 1 * * 1-5", 2)).toBe(6);
  });
});
