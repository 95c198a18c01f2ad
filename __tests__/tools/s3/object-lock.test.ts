import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CreateBucketCommand, GetBucketVersioningCommand, GetObjectLockConfigurationCommand, type S3Client } from "@aws-sdk/client-s3";
import { describeWithService } from "../../support/services";
import { findBinary, pathFirst, unshimmed } from "../../../harness/binaries";
import { s3Client, s3TestEnv, type RunningS3 } from "../../../harness/s3";
import { objectLockServers, stopObjectLockServer } from "../../../harness/versitygw";

const script = join(__dirname, "..", "..", "..", "tools", "s3", "enable_object_lock.sh");
// The AWS CLI itself, not a pyenv shim in front of it (harness/binaries.ts unshimmed).
const found = findBinary("aws");
const awsCli = found && unshimmed(found);
// The AWS CLI takes seconds to start on a loaded two-core machine; each run makes up to 7 calls.
const slow = 180_000;

// Setup and checks go through the SDK (in-process); only the script under test runs the AWS CLI,
// whose start-up dominates this suite's time. Against both S3 servers (moto and versitygw).
for (const server of objectLockServers)
  describeWithService(
    `tools/s3/enable_object_lock.sh against ${server.name}`,
    server.missing ?? (!awsCli ? "aws (AWS CLI)" : undefined),
    () => {
      let s3: RunningS3;
      let client: S3Client;
      const run = (...args: string[]) =>
        spawnSync("bash", [script, ...args, "--endpoint-url", s3.endpoint], {
          env: { ...process.env, ...s3TestEnv, AWS_MAX_ATTEMPTS: "1", PATH: pathFirst(awsCli!) },
          encoding: "utf8",
        });
      const lockOf = async (bucket: string) =>
        (await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }))).ObjectLockConfiguration;

      beforeAll(async () => {
        s3 = await server.start();
        client = s3Client(s3.endpoint);
        await client.send(new CreateBucketCommand({ Bucket: "plain-bucket" }));
        await client.send(new CreateBucketCommand({ Bucket: "fresh-bucket" }));
      });
      afterAll(async () => {
        client?.destroy();
        await stopObjectLockServer(s3);
      });

      test(
        "enables versioning and Object Lock on an existing bucket, prints what S3 reads back",
        async () => {
          const r = run("plain-bucket", "--days", "30");
          expect(r.stderr).toBe("");
          expect(r.status).toBe(0);
          expect(r.stdout).toContain("versioning: Unversioned -> Enabled");
          expect(r.stdout).toContain("bucket=plain-bucket versioning=Enabled object_lock=Enabled mode=COMPLIANCE days=30");
          expect((await client.send(new GetBucketVersioningCommand({ Bucket: "plain-bucket" }))).Status).toBe("Enabled");
          expect(await lockOf("plain-bucket")).toMatchObject({
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 30 } },
          });
        },
        slow,
      );

      test(
        "is idempotent: a second run without --days changes nothing and keeps the retention",
        () => {
          const again = run("plain-bucket");
          expect(again.status).toBe(0);
          expect(again.stdout).toContain("object lock: already COMPLIANCE for 30 days");
          expect(again.stdout).toContain("mode=COMPLIANCE days=30");
        },
        slow,
      );

      test(
        "raises the retention, and refuses to lower it or weaken the mode (exit 1, bucket unchanged)",
        async () => {
          expect(run("plain-bucket", "--days", "45").stdout).toContain("COMPLIANCE 30 days -> COMPLIANCE 45 days");
          const lower = run("plain-bucket", "--days", "10");
          expect(lower.status).toBe(1);
          expect(lower.stderr).toContain("refusing to lower the default retention of 'plain-bucket' from 45 to 10 days");
          const weaker = run("plain-bucket", "--mode", "GOVERNANCE", "--days", "45");
          expect(weaker.status).toBe(1);
          expect(weaker.stderr).toContain("from COMPLIANCE to GOVERNANCE");
          expect((await lockOf("plain-bucket"))?.Rule?.DefaultRetention).toMatchObject({ Mode: "COMPLIANCE", Days: 45 });
        },
        slow,
      );

      test(
        "a missing bucket is an S3 failure (exit 1); a new bucket without --days is bad usage (exit 2)",
        () => {
          const missing = run("no-such-bucket", "--days", "1");
          expect(missing.status).toBe(1);
          expect(missing.stderr).toContain("bucket 'no-such-bucket' is not reachable");
          const fresh = run("fresh-bucket");
          expect(fresh.status).toBe(2);
          expect(fresh.stderr).toContain("--days is required: bucket 'fresh-bucket' has no default retention yet");
        },
        slow,
      );
    },
  );

describe("tools/s3/enable_object_lock.sh usage", () => {
  const run = (...args: string[]) => spawnSync("bash", [script, ...args], { encoding: "utf8" });
  test("--help prints usage and exits 0", () => {
    const r = run("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: enable_object_lock\.sh <bucket>/);
  });
  test.each([
    [[], "missing <bucket>"],
    [["Bad_Bucket"], "<bucket> must be a valid S3 bucket name (got 'Bad_Bucket')"],
    [["b-1", "--mode", "SOFT"], "--mode must be COMPLIANCE or GOVERNANCE (got 'SOFT')"],
    [["b-1", "--days", "0"], "--days must be an integer 1-36500 (got '0')"],
    [["b-1", "--days", "ten"], "--days must be an integer 1-36500 (got 'ten')"],
    [["b-1", "--days"], "--days needs a value"],
    [["b-1", "--endpoint-url", "ftp://x"], "--endpoint-url must be an http(s) URL (got 'ftp://x')"],
    [["b-1", "--force"], "unknown option '--force'"],
    [["b-1", "b-2"], "only one bucket may be given"],
  ])("%j exits 2 naming the problem", (args, message) => {
    const r = run(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
