import { spawn, type ChildProcess } from "node:child_process";
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries";
import { freePort, waitFor } from "../lib/net";

/** moto's S3 server (moto 5.2.5 from PyPI, installed by tools/install/tools.sh), or undefined. */
export const motoBinary = findBinary("moto_server");

/** Credentials and region moto accepts; children (aws CLI, the service) get these. */
export const s3TestEnv = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
} as const;

export interface RunningS3 {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server (its buckets are in memory and are lost). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  readonly running: boolean;
}

/** Starts moto's S3 server on a free loopback port and waits until it answers. */
export async function startS3(): Promise<RunningS3> {
  if (!motoBinary) throw new Error("moto_server is not installed (tools/install/tools.sh)");
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), "maestro-moto-"));
  return runS3Server("moto S3 server", port, () =>
    spawn(motoBinary, ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...s3TestEnv, HOME: home },
    }),
  );
}

/**
 * A loopback S3 server process on `port` that a test may stop and start again on the same port:
 * spawnServer starts it, and start() waits until it answers (or names the exit and its last output).
 */
export async function runS3Server(label: string, port: number, spawnServer: () => ChildProcess): Promise<RunningS3> {
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = "";
  const start = async () => {
    output = "";
    const current = spawnServer();
    child = current;
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    current.stdout?.on("data", keep);
    current.stderr?.on("data", keep);
    await waitFor(label, async () => {
      if (current.exitCode !== null) throw new Error(`${label} exited: ${output}`);
      const res = await fetch(`${endpoint}/`);
      return res.status < 500;
    });
  };
  const stop = async () => {
    const current = child;
    child = undefined;
    if (current && current.exitCode === null && current.signalCode === null) {
      const exited = new Promise((r) => current.once("exit", r));
      current.kill("SIGTERM");
      await exited;
    }
  };
  await start();
  return {
    endpoint,
    port,
    start,
    stop,
    get running() {
      return child !== undefined;
    },
  };
}

/** Stops the server and removes its home folder. */
export async function stopS3(s3: RunningS3 | undefined): Promise<void> {
  if (!s3) return;
  await s3.stop();
}

/** Removes a temporary folder made by a test (helper for afterAll). */
export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** An SDK client for the test server (path-style, test credentials, no retries to speak of). */
export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: s3TestEnv.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: s3TestEnv.AWS_ACCESS_KEY_ID, secretAccessKey: s3TestEnv.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
}

/** Creates `bucket` with Object Lock on and a default retention (COMPLIANCE, `days`), as the audit stack's bucket is. */
export async function createLockedBucket(client: S3Client, bucket: string, days = 1): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await client.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: days } } },
    }),
  );
}
