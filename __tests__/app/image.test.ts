import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { scimSyncCommand } from "../../constructs/gateway/scim-sync";
import { bwrapPath, buildImage, runImage, setprivPath, type BuiltImage, type RunningContainer } from "../support/dockerfile";
import { postgresMissing, startPostgres, type RunningPostgres } from "../../harness/postgres";
import { describeWithService } from "../support/services";
import { freePort, waitFor } from "../../lib/net";
import { cleanVerdicts } from "../../harness/evidence";
import { startScimServer, type RunningScimServer } from "../../harness/scim-server";

// The compliance service image, built and run the way app/Dockerfile says, without a container
// engine (see support/dockerfile.ts): the runtime stage's `npm ci --omit=dev` really runs, so the
// service starts here with production packages only, as its USER, on a read-only root, against a
// real Postgres. The one step not executed is the build stage's `npm ci`: the checkout's
// node_modules (same lockfile) stands in for it.

const repo = resolve(__dirname, "../..");
const syncToken = "image-test-sync-token-0123456789abcdef";
const scimToken = "image-test-scim-token-0123456789";

describeWithService(
  "the service image (app/Dockerfile) built and run without Docker",
  bwrapPath && setprivPath ? postgresMissing : "bubblewrap (bwrap) and setpriv",
  () => {
    let work: string;
    let image: BuiltImage;
    let postgres: RunningPostgres;
    let container: RunningContainer;
    let base: string;
    let dataVolume: string;
    let scim: RunningScimServer;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "maestro-image-"));
      // What the release adds to the context before `docker build` (release-assets.sh's way): the
      // shipped bundle signed with a release key, that key's public half, the policy verdicts.
      const extras = join(work, "context");
      const release = join(extras, "release");
      mkdirSync(release, { recursive: true });
      writeFileSync(join(release, "policy-verdicts.json"), JSON.stringify(cleanVerdicts()));
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      writeFileSync(join(work, "release-key.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
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
      image = await buildImage({
        dockerfile: join(repo, "app", "Dockerfile"),
        context: repo,
        contextExtras: extras,
        workDir: join(work, "stages"),
        substitute: (stage, command) =>
          stage === "build" && /^npm ci\b/.test(command)
            ? { hostPath: join(repo, "node_modules"), imagePath: "/src/node_modules" }
            : undefined,
      });
      postgres = await startPostgres();
      dataVolume = join(work, "volume-data");
      mkdirSync(dataVolume);
      chownSync(dataVolume, image.runtime.user!.uid, image.runtime.user!.gid);
      scim = await startScimServer(await freePort(), scimToken);
      scim.addUser("u-alice", "alice");
      scim.addGroup("g-auditors", "auditors", ["u-alice"]);
      const port = await freePort();
      container = runImage(image, {
        env: {
          PORT: String(port),
          DATABASE_URL: postgres.url,
          OIDC_ISSUER: "https://idp.maestro.invalid",
          SCIM_SYNC_TOKEN: syncToken,
          // Production requires the fleet's signing key (from the Secret in a cluster).
          AUDIT_SIGNING_KEY_PEM: generateKeyPairSync("ec", { namedCurve: "P-256" })
            .privateKey.export({ type: "pkcs8", format: "pem" })
            .toString(),
          LOG_LEVEL: "warn",
        },
        volumes: { "/var/lib/maestro": dataVolume },
      });
      base = `http://127.0.0.1:${port}`;
      await waitFor(
        "the image's service /readyz",
        async () => {
          if (container.child.exitCode !== null) throw new Error(`the service exited ${container.child.exitCode}:\n${container.output()}`);
          return (await fetch(`${base}/readyz`)).ok;
        },
        60_000,
        50,
      );
    }, 600_000);
    afterAll(async () => {
      await container?.stop();
      await scim?.close();
      await postgres?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test("the runtime stage holds production packages only: no cdktf, no build tools", () => {
      const modules = join(image.runtime.root, "app", "node_modules");
      expect(existsSync(join(modules, "fastify"))).toBe(true);
      for (const dev of ["cdktf", "@cdktf/provider-aws", "vite", "typescript", "esbuild", "jest"])
        expect(existsSync(join(modules, dev))).toBe(false);
    });

    test("the service is ready on Postgres, serves the board with its CSP, and guards the API", async () => {
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
      const page = await fetch(base);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
      expect((await fetch(`${base}/api/compliance/controls`)).status).toBe(401);
      const migrations = await postgres.query<{ name: string }>("select name from schema_migrations order by name");
      expect(migrations.map((m) => m.name)).toContain("010_audit_log.sql");
    });

    test("it loads the release's signed policy bundle, verified with the shipped key (production refuses unsigned)", async () => {
      const events = await postgres.query<{ type: string; details: { signed?: boolean } }>(
        "select type, details from audit_log where type like 'policy.bundle.%' order by id",
      );
      expect(events).toEqual([{ type: "policy.bundle.loaded", details: expect.objectContaining({ signed: true }) }]);
    });

    test("its HEALTHCHECK command passes inside the image", async () => {
      const result = await container.exec(image.runtime.healthcheck!);
      expect(result).toEqual({ code: 0, output: "" });
    });

    test("as its USER, on a read-only root: only the volumes are writable", async () => {
      const write = (path: string) =>
        container.exec(["node", "-e", `require("fs").writeFileSync(${JSON.stringify(path)}, "x"); console.log(process.getuid())`]);
      expect(await write("/var/lib/maestro/probe")).toEqual({ code: 0, output: `${image.runtime.user!.uid}\n` });
      expect((await write("/tmp/probe")).code).toBe(0);
      const app = await write("/app/probe");
      expect(app.code).not.toBe(0);
      expect(app.output).toMatch(/EROFS|read-only file system/i);
    });

    test("the SCIM CronJob's command runs in the image and pushes the directory to the service", async () => {
      const result = await container.exec([...scimSyncCommand, "--push", `${base}/api/scim/sync`], {
        SCIM_ENDPOINT: scim.endpoint,
        SCIM_TOKEN: scimToken,
      });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.output)).toMatchObject({ ok: true, granted: 1 });
      const bindings = await postgres.query<{ subject: string; role: string }>("select subject, role from role_bindings");
      expect(bindings).toEqual([{ subject: "alice", role: "auditor" }]);
    });
  },
);
