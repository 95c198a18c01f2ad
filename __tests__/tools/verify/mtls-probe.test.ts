import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../../lib/net";
import { runStubbed, type StubbedRun } from "../../support/stubbed-script";

const script = resolve(__dirname, "..", "..", "..", "tools", "verify", "mtls-probe.sh");

// A stand-in for kubectl: records every call, and runs the probe pod's command right here (so the
// real in-pod curl snippet meets real endpoints), then serves its output as the pod's log.
const stubKubectl = `#!/usr/bin/env bash
set -u
line="$*"
printf '%s\\n' "\${line//$'\\n'/\\\\n}" >> "$STUB_DIR/calls" # one line per call
sub=""
for a in "$@"; do case "$a" in run|wait|get|logs|delete) sub="$a"; break ;; esac; done
case "$sub" in
  run)
    args=("$@")
    for i in "\${!args[@]}"; do
      if [ "\${args[$i]}" = "--" ]; then cmd=("\${args[@]:$((i + 1))}"); break; fi
    done
    TMPDIR="$STUB_DIR" "\${cmd[@]}" > "$STUB_DIR/logs" 2>&1 || true
    echo "pod/probe created" ;;
  wait) exit "\${STUB_WAIT_EXIT:-0}" ;;
  get) printf '%s' "\${STUB_CONTAINERS:-mtls-probe }" ;;
  logs) cat "$STUB_DIR/logs" ;;
  delete) echo "pod deleted" ;;
  *) echo "stub kubectl: unexpected call: $*" >&2; exit 3 ;;
esac
`;

let dir: string;
let strictPort: number; // resets every connection, as a STRICT sidecar does to plaintext
let rbacPort: number; // answers 403 RBAC: access denied, as an AuthorizationPolicy denial
let openPort: number; // answers 200: the call got through
let closedPort: number; // nothing listens
const servers: Array<TcpServer | HttpServer> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-mtls-probe-"));
  writeFileSync(join(dir, "kubectl"), stubKubectl);
  chmodSync(join(dir, "kubectl"), 0o755);
  const listen = async (server: TcpServer | HttpServer) => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as { port: number }).port;
  };
  strictPort = await listen(createTcpServer((socket) => socket.once("data", () => socket.resetAndDestroy())));
  rbacPort = await listen(createHttpServer((_req, res) => res.writeHead(403, { "content-type": "text/plain" }).end("RBAC: access denied")));
  openPort = await listen(createHttpServer((_req, res) => res.writeHead(200).end("ok")));
  closedPort = await freePort();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

function probe(args: string[], env: Record<string, string> = {}): Promise<StubbedRun> {
  writeFileSync(join(dir, "logs"), "");
  return runStubbed(script, args, dir, env);
}

const url = (port: number) => `http://127.0.0.1:${port}/healthz`;

test("passes when the plaintext connection is reset (STRICT mTLS), and says what it did", async () => {
  const run = await probe(["--url", url(strictPort), "--timeout", "5"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(
    /starting pod default\/mtls-probe-\d+-\d+ .*no sidecar.* to call http:\/\/127\.0\.0\.1:\d+\/healthz in plaintext/,
  );
  expect(run.stdout).toMatch(/curl_exit=56 http_code=000/);
  expect(run.stdout).toMatch(/PASS: the connection was reset \(curl exit 56\)/);
  const [runCall, waitCall, getCall, logsCall, deleteCall] = run.calls;
  expect(runCall).toMatch(/^--namespace default run mtls-probe-\d+-\d+ --image=curlimages\/curl:8\.10\.1 --restart=Never /);
  expect(runCall).toContain("--labels=sidecar.istio.io/inject=false,app.kubernetes.io/name=mtls-probe");
  expect(waitCall).toMatch(/wait --for=jsonpath=\{\.status\.phase\}=Succeeded pod\/mtls-probe-/);
  expect(getCall).toMatch(/get pod mtls-probe-\S+ -o jsonpath=/);
  expect(logsCall).toMatch(/logs mtls-probe-/);
  expect(deleteCall).toMatch(/delete pod mtls-probe-\S+ --ignore-not-found --wait=false/);
  expect(run.calls).toHaveLength(5);
});

test("passes on 403 RBAC: access denied (AuthorizationPolicy)", async () => {
  const run = await probe(["--url", url(rbacPort)]);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/PASS: HTTP 403 RBAC: access denied/);
});

test("fails when the call gets through", async () => {
  const run = await probe(["--url", url(openPort)]);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/FAIL: the call got through without mTLS \(HTTP 200\)/);
  expect(run.calls.at(-1)).toMatch(/^--namespace default delete pod/);
});

test("a closed port is inconclusive, not a pass", async () => {
  const run = await probe(["--url", url(closedPort)]);
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/FAIL \(inconclusive\): connection refused: nothing listens there/);
});

test("a probe pod that got a sidecar proves nothing and fails", async () => {
  const run = await probe(["--url", url(strictPort)], { STUB_CONTAINERS: "mtls-probe istio-proxy" });
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/got an istio-proxy sidecar/);
  expect(run.calls.some((c) => / logs /.test(c))).toBe(false);
});

test("a pod that never finishes fails, and is still deleted", async () => {
  const run = await probe(["--url", url(strictPort)], { STUB_WAIT_EXIT: "1" });
  expect(run.code).toBe(1);
  expect(run.stdout).toMatch(/the probe pod did not finish/);
  expect(run.calls.at(-1)).toMatch(/delete pod mtls-probe-/);
});

test("KUBE_CONTEXT and --namespace reach every kubectl call", async () => {
  const run = await probe(["--url", url(strictPort), "--namespace", "probe-ns"], { KUBE_CONTEXT: "maestro-staging" });
  expect(run.code).toBe(0);
  expect(run.calls).toHaveLength(5);
  for (const call of run.calls) expect(call.startsWith("--context maestro-staging --namespace probe-ns ")).toBe(true);
});

test.each([
  [[], /--url is required/],
  [["--url", "ftp://x"], /--url must be an http\(s\):\/\/ URL/],
  [["--url", "http://x", "--timeout", "0"], /--timeout must be 1-999 seconds/],
  [["--url", "http://x", "--namespace", "Bad_NS"], /--namespace must be a Kubernetes namespace name/],
  [["--bogus"], /unknown argument '--bogus'/],
])("bad usage %j exits 2 without touching the cluster", async (args, message) => {
  const run = await probe(args as string[]);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(message);
  expect(run.calls).toEqual([]);
});

test("--help prints usage and exits 0", async () => {
  const run = await probe(["--help"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/^Usage: mtls-probe\.sh --url URL/);
});
