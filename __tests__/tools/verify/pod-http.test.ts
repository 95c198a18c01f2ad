// tools/verify/pod-http.sh: what every serving pod of a Service answers. The exec transport meets a
// stand-in kubectl (a model of the API: it serves the Service and pod list it is given, and runs
// the in-pod `node -e` snippet right here, against a real server); the direct transport (the
// local control plane's) calls real servers at the pods' own loopback addresses. verify:ga
// --local-cluster runs it for real against the compliance Rollout's pods.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runStubbed, type StubbedRun } from "../../support/stubbed-script";

const script = resolve(__dirname, "..", "..", "..", "tools", "verify", "pod-http.sh");

// Records every call; `get service` and `get pods` print the JSON files the test wrote; `exec`
// runs the command after `--` here, with the pod's name in POD (the server answers per pod).
const stubKubectl = `#!/usr/bin/env bash
set -u
printf '%s\\n' "$*" >> "$STUB_DIR/calls"
args=("$@")
for i in "\${!args[@]}"; do
  case "\${args[$i]}" in
    service) cat "$STUB_DIR/service.json"; exit 0 ;;
    pods) cat "$STUB_DIR/pods.json"; exit 0 ;;
    exec)
      pod="\${args[$((i + 1))]}"
      for j in "\${!args[@]}"; do
        if [ "\${args[$j]}" = "--" ]; then POD="$pod" "\${args[@]:$((j + 1))}"; exit $?; fi
      done ;;
  esac
done
echo "stub kubectl: unexpected call: $*" >&2
exit 3
`;

let dir: string;
const servers: Server[] = [];
const port = 18000 + Math.floor(Math.random() * 2000);

/** A pod as `kubectl get pods -o json` lists it. */
const pod = (name: string, ip: string, ready = true, terminating = false) => ({
  metadata: { name, ...(terminating ? { deletionTimestamp: "2026-12-01T00:00:00Z" } : {}) },
  status: { podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-pod-http-"));
  writeFileSync(join(dir, "kubectl"), stubKubectl);
  chmodSync(join(dir, "kubectl"), 0o755);
  writeFileSync(
    join(dir, "service.json"),
    JSON.stringify({ spec: { selector: { "app.kubernetes.io/name": "compliance", "rollouts-pod-template-hash": "abc" } } }),
  );
  // One server per address: 127.0.0.1 for the exec transport (inside "the pod"), two pod addresses for direct.
  for (const host of ["127.0.0.1", "127.88.0.2", "127.88.0.3"]) {
    const server = createServer((req, res) => {
      if (req.url === "/healthz/policy")
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ host, signed: true }));
      else res.writeHead(404).end("no");
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, host, r));
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], pods: unknown[], env: Record<string, string> = {}): Promise<StubbedRun> {
  writeFileSync(join(dir, "pods.json"), JSON.stringify({ items: pods }));
  return runStubbed(script, args, dir, env);
}

const args = ["--namespace", "maestro", "--service", "compliance", "--path", "/healthz/policy", "--port", String(port)];
const answer = (host: string) => JSON.stringify({ host, signed: true });

test("exec: every ready, non-terminating pod behind the Service's selector is asked inside itself, one tab-separated line each", async () => {
  const pods = [pod("c-1", "10.1.0.1"), pod("c-2", "10.1.0.2"), pod("c-3", "10.1.0.3", false), pod("c-4", "10.1.0.4", true, true)];
  const r = await run(args, pods, { KUBE_CONTEXT: "staging" });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`c-1\t200\t${answer("127.0.0.1")}\nc-2\t200\t${answer("127.0.0.1")}\n`);
  expect(r.calls.slice(0, 2)).toEqual([
    "--context staging -n maestro get service compliance -o json",
    "--context staging -n maestro get pods -l app.kubernetes.io/name=compliance,rollouts-pod-template-hash=abc -o json",
  ]);
  expect(r.calls.slice(2).map((c) => c.split(" -- ")[0])).toEqual([
    "--context staging -n maestro exec c-1",
    "--context staging -n maestro exec c-2",
  ]);
});

test("exec: --container picks the container; a pod that answers 404 fails the run with its line", async () => {
  const r = await run(
    ["--namespace", "maestro", "--service", "compliance", "--path", "/nope", "--port", String(port), "--container", "app"],
    [pod("c-1", "x")],
  );
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("c-1\t404\tno\n");
  expect(r.calls[2]).toMatch(/^-n maestro exec c-1 -c app -- node -e /);
});

test("direct: each pod is called at its own address from here", async () => {
  const r = await run(args, [pod("c-1", "127.88.0.2"), pod("c-2", "127.88.0.3")], { POD_TRANSPORT: "direct" });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`c-1\t200\t${answer("127.88.0.2")}\nc-2\t200\t${answer("127.88.0.3")}\n`);
  expect(r.calls.some((c) => c.includes(" exec "))).toBe(false);
});

test("direct: a pod that does not answer is 000, and fails the run after every pod was asked", async () => {
  const r = await run(args, [pod("c-1", "127.88.0.9"), pod("c-2", "127.88.0.2")], { POD_TRANSPORT: "direct" });
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(`c-1\t000\t\nc-2\t200\t${answer("127.88.0.2")}\n`);
});

test("no ready pod is a failure that names the Service and its selector", async () => {
  const r = await run(args, [pod("c-1", "10.1.0.1", false)]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(
    "pod-http: no ready pod behind service maestro/compliance (app.kubernetes.io/name=compliance,rollouts-pod-template-hash=abc)\n",
  );
});

test.each([
  [["--service", "compliance", "--path", "/x"], "--namespace is required"],
  [["--namespace", "maestro", "--path", "/x"], "--service is required"],
  [["--namespace", "maestro", "--service", "compliance", "--path", "x"], "--path must start with / (got 'x')"],
  [["--namespace", "maestro", "--service", "compliance", "--path", "/x", "--port", "0"], "--port must be 1-65535 (got '0')"],
  [["--namespace", "maestro", "--service", "compliance", "--path", "/x", "--bogus"], "unknown argument '--bogus'"],
  [["--namespace"], "--namespace needs a value"],
])("bad usage %j: exit 2, %s", async (given, message) => {
  const r = await run(given, []);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`pod-http: ${message}\nrun with --help for usage\n`);
  expect(r.calls).toEqual([]);
});

test("POD_TRANSPORT other than exec or direct is bad usage", async () => {
  const r = await run(args, [], { POD_TRANSPORT: "proxy" });
  expect([r.code, r.stderr]).toEqual([2, "pod-http: POD_TRANSPORT must be exec or direct (got 'proxy')\nrun with --help for usage\n"]);
});
