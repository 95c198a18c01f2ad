import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries";
import { freePort } from "../lib/net";
import { motoBinary, runS3Server, s3TestEnv, startS3, type RunningS3 } from "./s3";

/** versitygw v1.8.0 (Go proxy, tools/install/tools.sh versitygw), or undefined. */
export const versitygwBinary = findBinary("versitygw");

/**
 * Starts versitygw's S3 gateway on a free loopback port: posix backend (buckets are folders of a
 * temporary root) with `--versioning-dir`, which Object Lock needs; the root user's keys are
 * s3TestEnv's, so s3Client and the service work against it unchanged. Unlike moto, its buckets
 * are files: a stop and start keeps them.
 */
export async function startVersityGw(): Promise<RunningS3 & { remove(): void }> {
  if (!versitygwBinary) throw new Error("versitygw is not installed (tools/install/tools.sh versitygw)");
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), "maestro-versitygw-"));
  mkdirSync(join(home, "buckets"));
  mkdirSync(join(home, "versions"));
  const server = await runS3Server("versitygw S3 gateway", port, () =>
    spawn(
      versitygwBinary,
      [
        "--access",
        s3TestEnv.AWS_ACCESS_KEY_ID,
        "--secret",
        s3TestEnv.AWS_SECRET_ACCESS_KEY,
        "--region",
        s3TestEnv.AWS_REGION,
        "--port",
        `127.0.0.1:${port}`,
        "--quiet",
        "posix",
        "--versioning-dir",
        join(home, "versions"),
        join(home, "buckets"),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: home } },
    ),
  );
  return Object.assign(server, { remove: () => rmSync(home, { recursive: true, force: true }) });
}

/** An S3 server with Object Lock that the WORM and Object Lock suites run against. */
export interface ObjectLockServer {
  name: "moto" | "versitygw";
  /** Why it cannot run here (describeWithService's reason), or undefined. */
  missing: string | undefined;
  start(): Promise<RunningS3>;
  /** Buckets survive stop + start (versitygw's files), or the restarted server is empty (moto's memory). */
  keepsBucketsOnRestart: boolean;
}

/**
 * Both servers: moto (Object Lock as S3's API, some rules not enforced) and versitygw, which
 * refuses what moto lets through (shortening a COMPLIANCE retention, switching it to GOVERNANCE,
 * suspending versioning). See docs/audit.md.
 */
export const objectLockServers: readonly ObjectLockServer[] = [
  {
    name: "moto",
    missing: motoBinary ? undefined : "moto_server (tools/install/tools.sh moto)",
    start: startS3,
    keepsBucketsOnRestart: false,
  },
  {
    name: "versitygw",
    missing: versitygwBinary ? undefined : "versitygw (tools/install/tools.sh versitygw)",
    start: startVersityGw,
    keepsBucketsOnRestart: true,
  },
];

/** Stops a server from objectLockServers and removes what it kept on disk. */
export async function stopObjectLockServer(s3: RunningS3 | undefined): Promise<void> {
  if (!s3) return;
  await s3.stop();
  (s3 as Partial<{ remove(): void }>).remove?.();
}
