import { join } from "node:path";
import { measureAsync, measureCommand, mb, ms, ratio, type BenchSuite } from "../harness";
import { startMetricsTarget, startPrometheus } from "../../harness/prometheus";
import { waitFor } from "../../lib/net";
import { healthy, TrafficSimulator } from "../../harness/traffic";

const script = join(__dirname, "..", "..", "tools", "ci", "slo_gate.js");

interface SloGateModule {
  parseArgs(argv: string[], env: NodeJS.ProcessEnv): unknown;
  evaluate(opts: unknown): Promise<{ exitCode: number }>;
}

// slo_gate.js answers the promotion question with three instant queries to a local Prometheus.
// Baselines from the same run: one bare curl of one /api/v1/query (the least any client can do),
// and the Node process start alone (the floor of any Node CLI).
export const suite: BenchSuite = {
  title: "SLO gate (tools/ci/slo_gate.js, local Prometheus)",
  async run() {
    const target = await startMetricsTarget();
    const traffic = new TrafficSimulator(target);
    traffic.set("compliance", "maestro", healthy);
    traffic.start();
    const prom = await startPrometheus({ targets: [target.address], scrapeInterval: "1s" });
    try {
      await waitFor(
        "traffic in Prometheus",
        async () => {
          const [s] = await prom.query('sum(increase(http_requests_total{service="compliance"}[1m]))');
          return s !== undefined && Number(s.value[1]) >= 200;
        },
        30000,
        250,
      );
      const gateArgs = [
        script,
        "--prometheus",
        prom.url,
        "--service",
        "compliance",
        "--namespace",
        "maestro",
        "--window",
        "1m",
        "--min-requests",
        "50",
      ];
      const gate = measureCommand(process.execPath, gateArgs, { runs: 15 });
      const query = `${prom.url}/api/v1/query?query=${encodeURIComponent('sum(increase(http_requests_total{service="compliance"}[1m]))')}`;
      const curl = measureCommand("curl", ["-sf", "-o", "/dev/null", query], { runs: 15 });
      const nodeStart = measureCommand(process.execPath, ["-e", ""], { runs: 15 });
      // The gate's own work without process start: parse, three queries, decide.
      const gateModule = require(script) as SloGateModule;
      const opts = gateModule.parseArgs(gateArgs.slice(1), {});
      const inProcess = await measureAsync(
        async () => {
          if ((await gateModule.evaluate(opts)).exitCode !== 0) throw new Error("slo_gate.js did not pass the healthy service");
        },
        { runs: 30 },
      );
      return [
        {
          name: "gate decision (3 instant queries, exit 0)",
          subject: "node tools/ci/slo_gate.js",
          value: ms(gate.medianMs),
          baseline: "curl of one /api/v1/query",
          baselineValue: ms(curl.medianMs),
          ratio: ratio(gate.medianMs, curl.medianMs),
          target: "≤ 150 ms",
          met: gate.medianMs <= 150,
        },
        {
          name: "gate over Node start",
          subject: "node tools/ci/slo_gate.js",
          value: ms(gate.medianMs),
          baseline: "node -e ''",
          baselineValue: ms(nodeStart.medianMs),
          ratio: ratio(gate.medianMs, nodeStart.medianMs),
        },
        {
          name: "gate decision in-process (no Node start)",
          subject: "slo_gate.js evaluate(): 3 queries + verdict",
          value: ms(inProcess.medianMs),
          baseline: "curl of one /api/v1/query",
          baselineValue: ms(curl.medianMs),
          ratio: ratio(inProcess.medianMs, curl.medianMs),
        },
        {
          name: "gate peak RSS",
          subject: "node tools/ci/slo_gate.js",
          value: mb(gate.peakRssMb),
          baseline: "node -e ''",
          baselineValue: mb(nodeStart.peakRssMb),
          ratio: ratio(gate.peakRssMb, nodeStart.peakRssMb),
        },
      ];
    } finally {
      traffic.stop();
      await prom.stop();
      await target.close();
    }
  },
};
