// The mtls-share probe reads the dashboard's query (contracts/promql.ts), which answers a percent;
// the evidence it records is a fraction (the SC-8 control compares it with minMtlsShare). A stand-in
// Prometheus HTTP API (a model: the query itself is run on a real Prometheus in the dashboard suite)
// answers what the real one would; the probe must send exactly that query and convert the unit.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mtlsProbe, mtlsShareQuery } from "../../../app/compliance/probes/mtls";
import type { ProbeContext } from "../../../app/compliance/probes/types";

let server: Server;
let base: string;
let answer: { status: number; body: unknown };
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "");
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const collect = () => mtlsProbe.collect({ settings: { prometheusUrl: base }, now: () => new Date() } as unknown as ProbeContext);
const vector = (value: string) => ({
  status: "success",
  data: { resultType: "vector", result: [{ metric: {}, value: [1764590000, value] }] },
});

test.each([
  ["100", 1],
  ["99.5", 0.995],
  ["0", 0],
])("a share of %s %% is recorded as the fraction %s, from the dashboard's own query", async (percent, fraction) => {
  answer = { status: 200, body: vector(percent) };
  const evidence = await collect();
  expect(asked.at(-1)).toBe(mtlsShareQuery);
  expect(evidence).toMatchObject({ state: "available", data: { share: fraction, query: mtlsShareQuery } });
});

test("no mesh traffic (an empty vector) is missing evidence, not a pass", async () => {
  answer = { status: 200, body: { status: "success", data: { resultType: "vector", result: [] } } };
  expect(await collect()).toMatchObject({ state: "missing" });
});

test("a Prometheus error is an error reading naming the status", async () => {
  answer = { status: 400, body: { status: "error", error: "parse error" } };
  expect(await collect()).toMatchObject({ state: "error", summary: expect.stringMatching(/Prometheus answered 400: parse error/) });
});
