import { describeWithService } from "../support/services";
import {
  prometheusBinary,
  startMetricsTarget,
  startPrometheus,
  type MetricsTarget,
  type RunningPrometheus,
} from "../../harness/prometheus";
import { waitFor } from "../../lib/net";

describeWithService("the real-Prometheus test harness", prometheusBinary ? undefined : "prometheus", () => {
  let target: MetricsTarget;
  let prom: RunningPrometheus;
  beforeAll(async () => {
    target = await startMetricsTarget("harness_value 42\n");
    prom = await startPrometheus({ targets: [target.address] });
  });
  afterAll(async () => {
    await prom?.stop();
    await target?.close();
  });

  test("scrapes the test target and answers queries", async () => {
    await waitFor("a scrape", async () => (await prom.query("harness_value")).length === 1);
    expect((await prom.query("harness_value"))[0].value[1]).toBe("42");
  });
});
