import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { freePort, waitFor } from "../../../lib/net";
import { prometheusBinary, startPrometheus, type RunningPrometheus } from "../../../harness/prometheus";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { seedPglite } from "../../../harness/pglite-template";

const promtool = findBinary("promtool");
const sloGate = join(__dirname, "..", "..", "..", "tools", "ci", "slo_gate.js");

describeWithService(
  "service metrics, scraped by a real Prometheus and read by slo_gate.js",
  prometheusBinary && promtool ? undefined : "prometheus and promtool",
  () => {
    let dir: string;
    let service: BuiltService;
    let prometheus: RunningPrometheus;
    let base: string;
    let token: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "maestro-compliance-metrics-"));
      await seedPglite(dir);
      service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir, SERVICE_NAME: "compliance", POD_NAMESPACE: "maestro" }), {
        logger: false,
      });
      const port = await freePort();
      await service.server.listen({ port, host: "127.0.0.1" });
      base = `http://127.0.0.1:${port}`;
      token = await mintDevToken(dir, { subject: "vera", groups: ["viewers"] });
      prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], scrapeInterval: "1s" });
    }, 120_000);
    afterAll(async () => {
      await prometheus?.stop();
      await service?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("the exposition passes promtool and carries the series the SLO gate reads", async () => {
      await fetch(`${base}/healthz`);
      await fetch(`${base}/api/compliance/controls`); // 401
      await fetch(`${base}/api/compliance/controls?status=green`, { headers: { authorization: `Bearer ${token}` } }); // 400
      await fetch(`${base}/no/such/path`);
      const text = await (await fetch(`${base}/metrics`)).text();
      const file = join(dir, "metrics.txt");
      writeFileSync(file, text);
      const check = spawnSync(promtool!, ["check", "metrics"], { input: text, encoding: "utf8" });
      expect(check.stderr + check.stdout).not.toMatch(/error/i);
      expect(text).toContain(
        'http_requests_total{service="compliance",namespace="maestro",code="401",method="GET",route="/api/compliance/controls"} 1',
      );
      expect(text).toContain(
        'http_requests_total{service="compliance",namespace="maestro",code="400",method="GET",route="/api/compliance/controls"} 1',
      );
      expect(text).toContain('route="unmatched"');
      expect(text).toMatch(
        /http_request_duration_seconds_bucket\{service="compliance",namespace="maestro",code="200",method="GET",route="\/healthz",le="\+Inf"\} 1/,
      );
      expect(text).toContain('compliance_control_status{control="transit-encryption",status="unknown"} 1');
    });

    test("Prometheus scrapes the service and slo_gate.js passes it (exit 0)", async () => {
      const traffic = () =>
        Promise.all(
          Array.from({ length: 10 }, () =>
            fetch(`${base}/api/compliance/controls`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer()),
          ),
        );
      // Traffic keeps flowing while we wait: increase() counts only growth between scrapes.
      await waitFor(
        "the gate's request count in Prometheus",
        async () => {
          await traffic();
          const r = await prometheus.query('sum(increase(http_requests_total{service="compliance",namespace="maestro"}[30s]))');
          return r.length === 1 && Number(r[0].value[1]) >= 20;
        },
        60_000,
        200,
      );
      const gate = spawnSync(
        process.execPath,
        [
          sloGate,
          "--prometheus",
          prometheus.url,
          "--service",
          "compliance",
          "--namespace",
          "maestro",
          "--window",
          "30s",
          "--min-requests",
          "20",
          "--format",
          "json",
        ],
        { encoding: "utf8" },
      );
      expect({ status: gate.status, stderr: gate.stderr }).toEqual({ status: 0, stderr: "" });
      expect(JSON.parse(gate.stdout)).toMatchObject({ verdict: "pass", exitCode: 0 });
    });
  },
);
