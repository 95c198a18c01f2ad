import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scimSyncCommand } from "../../constructs/gateway/scim-sync";
import { bwrapPath, runtimeEnv, setprivPath, type BuiltImage, type RunningContainer } from "../../harness/dockerfile";
import { buildServiceImage, startServiceContainer, type ServiceContainer } from "../../harness/service-image";
import { postgresMissing, startPostgres, type RunningPostgres } from "../../harness/postgres";
import { describeWithService } from "../support/services";
import { freePort } from "../../lib/net";
import { startScimServer, type RunningScimServer } from "../../harness/scim-server";

// The compliance service image, built and run the way app/Dockerfile says, without a container
// engine (see harness/dockerfile.ts): the runtime stage's `npm ci --omit=dev` really runs, so the
// service starts here with production packages only, as its USER, on a read-only root, against a
// real Postgres. The one step not executed is the build stage's `npm ci`: the checkout's
// node_modules (same lockfile) stands in for it.

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
    let service: ServiceContainer;
    let scim: RunningScimServer;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), "maestro-image-"));
      image = await buildServiceImage(work);
      postgres = await startPostgres();
      scim = await startScimServer(await freePort(), scimToken);
      scim.addUser("u-alice", "alice");
      scim.addGroup("g-auditors", "auditors", ["u-alice"]);
      service = await startServiceContainer(image, { databaseUrl: postgres.url, dataDir: join(work, "volume-data"), syncToken });
      container = service.container;
      base = service.url;
    }, 600_000);
    afterAll(async () => {
      await container?.stop();
      await scim?.close();
      await postgres?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test("runtimeEnv (what the export bench starts the service with) reads the same ENV the build gives the runtime", () => {
      const env = runtimeEnv(join(__dirname, "..", "..", "app", "Dockerfile"));
      expect(env.NODE_OPTIONS).toBe("--max-semi-space-size=16");
      expect(image.runtime.env).toEqual({ ...image.runtime.env, ...env });
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
