import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { mtlsPercentExpr } from "../../../contracts/promql";
import { describeWithService } from "../../support/services";
import { freePort } from "../../../lib/net";
import { prometheusBinary, type RunningPrometheus } from "../../../harness/prometheus";
import { promtoolBinary, startPrometheusWithFlows, type RequestFlow } from "../../constructs/mesh/support/istio-requests";

const script = resolve(__dirname, "..", "..", "..", "tools", "verify", "mtls-percent.sh");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function mtlsPercent(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile("bash", [script, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("mtls-percent.sh usage", () => {
  test.each([
    [[], /--threshold is required/],
    [["--threshold", "abc"], /--threshold must be a number 0-100 \(got 'abc'\)/],
    [["--threshold", "101", "--prometheus", "http://x"], /--threshold must be a number 0-100 \(got '101'\)/],
    [["--threshold", "99"], /--prometheus is required/],
    [["--threshold", "99", "--prometheus", "http://x", "--window", "five"], /--window must be a Prometheus duration/],
    [
      ["--threshold", "99", "--prometheus", "http://x", "--namespace", 'a"} or vector(100) #'],
      /--namespace must be a namespace name or regex/,
    ],
    [["--threshold", "99", "--prometheus", "http://x", "--time", "yesterday"], /--time must be RFC 3339 or Unix seconds/],
    [["--threshold"], /--threshold needs a value/],
  ])("%j exits 2 naming the flag", async (args, message) => {
    const run = await mtlsPercent(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test("--help prints usage and exits 0", async () => {
    const run = await mtlsPercent(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: mtls-percent\.sh --threshold PERCENT/);
  });

  test("an unreachable Prometheus is unreadable input: exit 2", async () => {
    const run = await mtlsPercent(["--threshold", "99", "--prometheus", `http://127.0.0.1:${await freePort()}`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot query Prometheus at http:\/\/127\.0\.0\.1:\d+/);
  });
});

const missing = !prometheusBinary ? "prometheus" : !promtoolBinary ? "promtool" : undefined;

describeWithService("mtls-percent.sh against a real Prometheus", missing, () => {
  // Ten minutes of traffic ending now: namespace "clean" is all mTLS; in "leaky" 2 of 10 req/s are plaintext.
  const end = Math.floor(Date.now() / 1000 / 15) * 15;
  const span = { fromSec: end - 600, toSec: end };
  const flows: RequestFlow[] = [
    {
      source: { namespace: "maestro-gateway", workload: "oauth2-proxy" },
      destination: { namespace: "clean", workload: "api" },
      mtls: true,
      perSecond: 10,
      ...span,
    },
    {
      source: { namespace: "maestro-gateway", workload: "oauth2-proxy" },
      destination: { namespace: "leaky", workload: "api" },
      mtls: true,
      perSecond: 8,
      ...span,
    },
    {
      source: { namespace: "default", workload: "curl" },
      destination: { namespace: "leaky", workload: "api" },
      mtls: false,
      perSecond: 2,
      ...span,
    },
  ];

  let prom: RunningPrometheus;
  beforeAll(async () => {
    prom = await startPrometheusWithFlows(flows);
  });
  afterAll(async () => prom?.stop());

  test("100 % mTLS passes, now, with the dashboard's own query", async () => {
    const run = await mtlsPercent(["--prometheus", prom.url, "--threshold", "99", "--namespace", "clean"]);
    expect(run.stdout).toContain(`query: ${mtlsPercentExpr({ window: "5m", namespace: "clean" })}\n`);
    expect(run.stdout).toMatch(/PASS: mTLS share 100\.00 % >= threshold 99 %/);
    expect(run.code).toBe(0);
  });

  test("plaintext traffic below the threshold fails with the share it measured", async () => {
    const run = await mtlsPercent(["--prometheus", prom.url, "--threshold", "99", "--namespace", "leaky"]);
    expect(run.stdout).toMatch(/FAIL: mTLS share 80\.00 % is below the threshold 99 %/);
    expect(run.code).toBe(1);
  });

  test("the whole mesh reads (10 + 8) / 20 = 90 %, and the threshold comes from MTLS_THRESHOLD_PERCENT", async () => {
    const at = ["--time", String(end), "--window", "1m"];
    expect((await mtlsPercent(["--prometheus", prom.url, ...at], { MTLS_THRESHOLD_PERCENT: "90" })).code).toBe(0);
    const below = await mtlsPercent(["--prometheus", prom.url, ...at], { MTLS_THRESHOLD_PERCENT: "90.01" });
    expect(below.stdout).toMatch(/FAIL: mTLS share 90\.00 % is below the threshold 90\.01 %/);
    expect(below.code).toBe(1);
  });

  test("exactly at the threshold passes", async () => {
    const run = await mtlsPercent([
      "--prometheus",
      prom.url,
      "--threshold",
      "80",
      "--namespace",
      "leaky",
      "--time",
      String(end),
      "--window",
      "1m",
    ]);
    expect(run.stdout).toMatch(/PASS: mTLS share 80\.00 % >= threshold 80 %/);
    expect(run.code).toBe(0);
  });

  test("no Istio traffic in the window fails: a green panel needs traffic", async () => {
    const run = await mtlsPercent(["--prometheus", prom.url, "--threshold", "99", "--namespace", "nowhere"], { PROMETHEUS_URL: "unused" });
    expect(run.stdout).toMatch(/FAIL: no istio_requests_total \(reporter=destination\) in the last 5m for namespaces =~ 'nowhere'/);
    expect(run.code).toBe(1);
  });

  test("PROMETHEUS_URL is used when --prometheus is not given", async () => {
    const run = await mtlsPercent(["--threshold", "99", "--namespace", "clean"], { PROMETHEUS_URL: prom.url });
    expect(run.stdout).toContain(`asking ${prom.url} for the mTLS share`);
    expect(run.code).toBe(0);
  });
});
