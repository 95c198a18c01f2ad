// tools/ci/slo_gate.js against a real Prometheus that scrapes a target whose traffic the test
// controls: one target serves several services at once (healthy, erroring, slow, idle, sparse),
// so a single Prometheus run covers every verdict.
import { createServer, type Server } from "node:http";
import { describeWithService } from "../../support/services";
import {
  prometheusBinary,
  startMetricsTarget,
  startPrometheus,
  type MetricsTarget,
  type RunningPrometheus,
} from "../../../harness/prometheus";
import { freePort, waitFor } from "../../../lib/net";
import { erroring, healthy, idle, slow, TrafficSimulator } from "../../../harness/traffic";
import { runGate } from "./support/slo-gate";

const namespace = "maestro";
const services = { healthy, erroring, slow, idle, sparse: { ...healthy, rps: 0.5 } };

describe("slo_gate.js usage", () => {
  const base = ["--prometheus", "http://127.0.0.1:9", "--service", "healthy", "--namespace", namespace];

  test("--help prints the flags and exits 0", async () => {
    const run = await runGate(["--help"]);
    expect(run.code).toBe(0);
    for (const flag of ["--prometheus", "--max-error-ratio", "--max-p99-ms", "--min-requests", "--p99-query", "--format"]) {
      expect(run.stdout).toContain(flag);
    }
  });

  test.each([
    [["--service", "healthy", "--namespace", namespace], /--prometheus \(or PROMETHEUS_URL\) is required/],
    [[...base, "--max-error-ratio", "1.5"], /--max-error-ratio must be a number 0-1 \(got '1.5'\)/],
    [[...base, "--max-p99-ms", "fast"], /--max-p99-ms must be a number >= 0 \(got 'fast'\)/],
    [[...base, "--min-requests", "2.5"], /--min-requests must be an integer >= 1 \(got '2.5'\)/],
    [[...base, "--window", "5 minutes"], /--window must be a Prometheus duration/],
    [[...base, "--format", "yaml"], /--format must be text or json \(got 'yaml'\)/],
    [[...base, "--timeout", "-1"], /--timeout must be a positive duration/],
    [[...base, "--bogus", "1"], /unknown argument '--bogus'/],
    [["--prometheus", "http://127.0.0.1:9", "--namespace", namespace], /--service is required/],
    [[...base.slice(0, 2), "--service", 'x"} or vector(1) #', "--namespace", namespace], /--service must be a Kubernetes name/],
    [["--prometheus", "ftp://example", "--service", "a", "--namespace", "b"], /--prometheus must be an http\(s\) URL/],
    [[...base, "--p99-query", ""], /--p99-query must not be empty/],
  ])("bad usage %j exits 2 naming the flag", async (args, message) => {
    const run = await runGate(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe("");
  });

  test("PROMETHEUS_URL stands in for --prometheus", async () => {
    const run = await runGate(["--service", "healthy", "--namespace", namespace, "--timeout", "2s"], {
      PROMETHEUS_URL: "http://127.0.0.1:9",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("cannot reach Prometheus at http://127.0.0.1:9");
    expect(run.code).toBe(2);
  });
});

describeWithService("slo_gate.js against a real Prometheus", prometheusBinary ? undefined : "prometheus", () => {
  let target: MetricsTarget;
  let prom: RunningPrometheus;
  let traffic: TrafficSimulator;
  const gate = (service: string, extra: string[] = []) =>
    runGate([
      "--prometheus",
      prom.url,
      "--service",
      service,
      "--namespace",
      namespace,
      "--window",
      "30s",
      "--max-error-ratio",
      "0.01",
      "--max-p99-ms",
      "300",
      "--min-requests",
      "50",
      ...extra,
    ]);

  beforeAll(async () => {
    target = await startMetricsTarget();
    traffic = new TrafficSimulator(target);
    for (const [service, profile] of Object.entries(services)) traffic.set(service, namespace, profile);
    traffic.start();
    prom = await startPrometheus({ targets: [target.address], scrapeInterval: "1s" });
    // Enough scrapes for every rate() in a 30 s window to see at least 100 requests.
    await waitFor(
      "100 requests of the healthy service in Prometheus",
      async () => {
        const [sample] = await prom.query('sum(increase(http_requests_total{service="healthy"}[30s]))');
        return sample !== undefined && Number(sample.value[1]) >= 100;
      },
      30000,
      250,
    );
  }, 45000);

  afterAll(async () => {
    traffic?.stop();
    await prom?.stop();
    await target?.close();
  });

  test("healthy service: every SLI passes, exit 0", async () => {
    const run = await gate("healthy");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}requests +\d+ +>= 50 +ok$/m);
    expect(run.stdout).toMatch(/^ {2}error ratio +0(\.00\d*)? +<= 0\.01 +ok$/m);
    expect(run.stdout).toMatch(/^ {2}p99 latency +\d+(\.\d)? ms +<= 300 ms +ok$/m);
    expect(run.stdout).toMatch(/^verdict: PASS/m);
  });

  test("error burst: error ratio breaches, exit 1", async () => {
    const run = await gate("erroring", ["--format", "json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ verdict: "breach", exitCode: 1, service: "erroring", namespace, window: "30s" });
    const byName = Object.fromEntries(report.slis.map((s: { name: string }) => [s.name, s]));
    expect(byName["error ratio"]).toMatchObject({ verdict: "breach", threshold: 0.01, comparison: "<=" });
    expect(byName["error ratio"].value).toBeGreaterThan(0.08);
    expect(byName["error ratio"].value).toBeLessThan(0.12);
    expect(byName["p99 latency"]).toMatchObject({ verdict: "pass", unit: "ms" });
    expect(byName.requests.verdict).toBe("pass");
  });

  test("slow responses: p99 breaches, exit 1", async () => {
    const run = await gate("slow", ["--format", "json"]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    const p99 = report.slis.find((s: { name: string }) => s.name === "p99 latency");
    expect(p99).toMatchObject({ verdict: "breach", threshold: 300, unit: "ms" });
    expect(p99.value).toBeGreaterThan(500);
    expect(p99.value).toBeLessThanOrEqual(1000);
    expect(report.reason).toMatch(/^p99 latency \d+(\.\d)? ms exceeds 300 ms$/);
  });

  test("the p99 threshold is the flag's: a 1500 ms budget passes the slow service", async () => {
    const run = await gate("slow", ["--max-p99-ms", "1500"]);
    expect(run.code).toBe(0);
  });

  test("no traffic: zero requests in the window is no decision, exit 2", async () => {
    const run = await gate("idle", ["--format", "json"]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout);
    expect(report.verdict).toBe("inconclusive");
    expect(report.reason).toMatch(/too little traffic: 0 requests in 30s, at least 50 needed/);
  });

  test("too little traffic: a trickle under --min-requests is no decision, exit 2", async () => {
    const run = await gate("sparse");
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/requests +\d+ +>= 50 +TOO-LITTLE-TRAFFIC/);
  });

  test("a service Prometheus has never seen: empty result, exit 2", async () => {
    const run = await gate("unknown-service");
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/empty result/);
  });

  test("overridden queries are used, with $service/$namespace/$window filled in", async () => {
    const run = await gate("erroring", [
      "--format",
      "json",
      "--error-ratio-query",
      'sum(rate(http_requests_total{service="$service",namespace="$namespace",code="200"}[$window])) / sum(rate(http_requests_total{service="$service",namespace="$namespace"}[$window]))',
      "--max-error-ratio",
      "0.95",
    ]);
    const report = JSON.parse(run.stdout);
    const ratio = report.slis.find((s: { name: string }) => s.name === "error ratio");
    expect(ratio.query).toContain('service="erroring",namespace="maestro",code="200"}[30s]');
    expect(ratio.value).toBeGreaterThan(0.85); // the share of 200s, here the "errors"
    expect(run.code).toBe(0);
  });

  test("a query Prometheus rejects is no decision, exit 2, with Prometheus's message", async () => {
    const run = await gate("healthy", ["--p99-query", "histogram_quantile(0.99, rate(nope[$window]"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/Prometheus refused the query \(HTTP 400, bad_data\)/);
  });

  test("a query returning several series is no decision, exit 2", async () => {
    const run = await gate("healthy", ["--requests-query", 'sum by (code) (increase(http_requests_total{service="$service"}[$window]))']);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/returned 2 series; aggregate it to one/);
  });

  test("a Prometheus that does not answer in --timeout is no decision, exit 2", async () => {
    const sockets: Array<{ destroy(): void }> = [];
    const silent: Server = createServer(() => undefined); // accepts, never answers
    silent.on("connection", (s) => sockets.push(s));
    const port = await freePort();
    await new Promise<void>((r) => silent.listen(port, "127.0.0.1", r));
    try {
      const begin = Date.now();
      const run = await runGate([
        "--prometheus",
        `http://127.0.0.1:${port}`,
        "--service",
        "healthy",
        "--namespace",
        namespace,
        "--timeout",
        "300ms",
      ]);
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(/did not answer within the timeout/);
      expect(Date.now() - begin).toBeLessThan(5000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  test("Prometheus down: the healthy service cannot pass, exit 2", async () => {
    const url = prom.url;
    await prom.stop();
    const run = await runGate(["--prometheus", url, "--service", "healthy", "--namespace", namespace, "--window", "30s"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(run.stdout).toMatch(/^verdict: INCONCLUSIVE/m);
  });
});
