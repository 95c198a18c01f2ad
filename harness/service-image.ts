// The compliance service image (app/Dockerfile) built without a container engine (dockerfile.ts),
// with what a release adds to the build context first (tools/verify/ga/release-assets.sh's way):
// the shipped policy bundle signed with a fresh release key, that key's public half, and the
// policy verdicts. Used by the image suite and by verify:ga's local control plane, whose host
// kubelet runs the project's own pods in it.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildImage, runImage, type BuiltImage, type RunningContainer } from "./dockerfile";
import { freePort, waitFor } from "../lib/net";
import { cleanVerdicts } from "./evidence";

const repo = resolve(__dirname, "..");

/**
 * Builds the image in `work` (stages under work/stages, the release's context under work/context).
 * The one step not executed is the build stage's `npm ci`: the checkout's node_modules (same
 * lockfile) stands in for it; the runtime stage's `npm ci --omit=dev` really runs.
 */
export async function buildServiceImage(work: string, log?: (line: string) => void): Promise<BuiltImage> {
  const release = join(work, "context", "release");
  mkdirSync(release, { recursive: true });
  writeFileSync(join(release, "policy-verdicts.json"), JSON.stringify(cleanVerdicts()));
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(join(work, "release-key.pem"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  writeFileSync(join(release, "policy-signing.pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
  execFileSync(
    process.execPath,
    [
      "-r",
      "./tools/register.js",
      "tools/ci/policy-bundle-sign.ts",
      "--key",
      join(work, "release-key.pem"),
      "--out",
      join(release, "policy-bundle.signed.tar.gz"),
    ],
    { cwd: repo, stdio: "pipe" },
  );
  return buildImage({
    dockerfile: join(repo, "app", "Dockerfile"),
    context: repo,
    contextExtras: join(work, "context"),
    workDir: join(work, "stages"),
    substitute: (stage, command) =>
      stage === "build" && /^npm ci\b/.test(command) ? { hostPath: join(repo, "node_modules"), imagePath: "/src/node_modules" } : undefined,
    log,
  });
}

/** The image's service running (runImage) on a loopback port against a database. */
export interface ServiceContainer {
  container: RunningContainer;
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs the image's CMD as production runs it: a DATABASE_URL, the fleet's signing key (a fresh
 * one: in a cluster it comes from the Secret), the SCIM push token, an issuer that is never
 * reached, its data volume in `dataDir` (owned by the image's USER). Resolves once /readyz answers.
 */
export async function startServiceContainer(
  image: BuiltImage,
  options: { databaseUrl: string; dataDir: string; syncToken: string },
): Promise<ServiceContainer> {
  mkdirSync(options.dataDir, { recursive: true });
  if (image.runtime.user) chownSync(options.dataDir, image.runtime.user.uid, image.runtime.user.gid);
  const port = await freePort();
  const container = runImage(image, {
    env: {
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      OIDC_ISSUER: "https://idp.maestro.invalid",
      SCIM_SYNC_TOKEN: options.syncToken,
      AUDIT_SIGNING_KEY_PEM: generateKeyPairSync("ec", { namedCurve: "P-256" })
        .privateKey.export({ type: "pkcs8", format: "pem" })
        .toString(),
      LOG_LEVEL: "warn",
    },
    volumes: { "/var/lib/maestro": options.dataDir },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "the image's service /readyz",
      async () => {
        if (container.child.exitCode !== null) throw new Error(`the service exited ${container.child.exitCode}:\n${container.output()}`);
        return (await fetch(`${url}/readyz`)).ok;
      },
      60_000,
      50,
    );
  } catch (err) {
    await container.stop();
    throw err;
  }
  return { container, url, stop: () => container.stop() };
}
