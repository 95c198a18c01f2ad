// tools/db/restart-drill.sh: its verdict on how a service's pods came through a database restart.
// kubectl here is a stand-in (a model of the API: it serves the pod list it is given, and the
// restart, DB_STOP_COMMAND/DB_START_COMMAND or the database pod's deletion, swaps that list for
// the ones during and after);
// the pods' /readyz are real servers at their own loopback addresses (pod-http.sh's direct
// transport). verify:ga --local-cluster runs the drill for real: the compliance Rollout's pods on
// the host kubelet, and the Postgres they use restarted (dr.db-restart).
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../../../lib/net";
import { runStubbed } from "../../support/stubbed-script";

const script = resolve(__dirname, "..", "..", "..", "tools", "db", "restart-drill.sh");

// Records every call. `get service` / `get pods` print service.json / pods.json; the database
// pod's uid is db-uid; `delete pod` gives it a new uid and puts pods-after.json in place.
const stubKubectl = `#!/usr/bin/env bash
set -u
printf '%s\\n' "$*" >> "$STUB_DIR/calls"
case " $* " in
  *" get service "*) cat "$STUB_DIR/service.json" ;;
  *" get pods "*) cat "$STUB_DIR/pods.json" ;;
  *" get pod postgres-0 "*) cat "$STUB_DIR/db-uid" ;;
  *" delete pod postgres-0 "*) echo uid-2 > "$STUB_DIR/db-uid"; cp "$STUB_DIR/pods-after.json" "$STUB_DIR/pods.json" ;;
  *" wait pod postgres-0 "*) ;;
  *) echo "stub kubectl: unexpected call: $*" >&2; exit 3 ;;
esac
`;

let dir: string;
let port: number;
const servers: Server[] = [];
// What each pod address answers on /readyz (a test sets one to 503).
const readyz: Record<string, number> = {};

/** A pod as `kubectl get pods -o json` lists it. */
const pod = (name: string, ip: string, o: { ready?: boolean; restarts?: number } = {}) => ({
  metadata: { name },
  status: {
    podIP: ip,
    conditions: [{ type: "Ready", status: (o.ready ?? true) ? "True" : "False" }],
    containerStatuses: [{ name: "compliance", restartCount: o.restarts ?? 0 }],
  },
});
const list = (...items: unknown[]) => JSON.stringify({ items });
const a = (o = {}) => pod("web-a", "127.89.0.2", o);
const b = (o = {}) => pod("web-b", "127.89.0.3", o);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-restart-drill-"));
  writeFileSync(join(dir, "kubectl"), stubKubectl);
  chmodSync(join(dir, "kubectl"), 0o755);
  writeFileSync(join(dir, "service.json"), JSON.stringify({ spec: { selector: { "app.kubernetes.io/name": "compliance" } } }));
  port = await freePort();
  for (const host of ["127.89.0.2", "127.89.0.3"]) {
    const server = createServer((req, res) => {
      const status = req.url === "/readyz" ? (readyz[host] ?? 200) : 404;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ host, status }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, host, r));
  }
});

afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const host of Object.keys(readyz)) delete readyz[host];
  writeFileSync(join(dir, "db-uid"), "uid-1");
  rmSync(join(dir, "restarted"), { force: true });
});

const args = ["--namespace", "maestro", "--service", "compliance", "--db-namespace", "data", "--db-pod", "postgres-0"];
/**
 * Pods before, while the database is away (default: as before) and after. The restart is
 * DB_STOP_COMMAND (marks `restarted`, puts the `during` list in place) then DB_START_COMMAND (the
 * `after` list), unless viaPodDeletion.
 */
function drill(
  before: string,
  after: string,
  o: { during?: string; extra?: string[]; stopCommand?: string; env?: Record<string, string>; viaPodDeletion?: boolean } = {},
) {
  writeFileSync(join(dir, "pods.json"), before);
  writeFileSync(join(dir, "pods-during.json"), o.during ?? before);
  writeFileSync(join(dir, "pods-after.json"), after);
  const stop = o.stopCommand ?? `touch "${dir}/restarted" && cp "${dir}/pods-during.json" "${dir}/pods.json"`;
  const start = `cp "${dir}/pods-after.json" "${dir}/pods.json"`;
  return runStubbed(script, [...args, "--port", String(port), "--settle", "0", ...(o.extra ?? [])], dir, {
    POD_TRANSPORT: "direct",
    ...(o.viaPodDeletion ? {} : { DB_STOP_COMMAND: stop, DB_START_COMMAND: start }),
    ...o.env,
  });
}

describe("restart-drill.sh (stand-in kubectl, real /readyz servers)", () => {
  test("the same pods Ready again, none restarted, /readyz 2xx on each: exit 0, a line per pod", async () => {
    const run = await drill(list(a(), b()), list(a(), b()));
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n")).toEqual([
      "web-a\trestarts 0 -> 0\tReady true\tNotReady while the database was away: no",
      "web-b\trestarts 0 -> 0\tReady true\tNotReady while the database was away: no",
      expect.stringMatching(
        /^2 pod\(s\) rode out a database restart \(back after \d+ ms\): none restarted or replaced, all Ready, \/readyz 2xx; 0 went NotReady while it was away$/,
      ),
    ]);
    expect(existsSync(join(dir, "restarted"))).toBe(true);
  });

  test("--down holds the database away (DB_DOWN_SECONDS by default); the pods seen NotReady meanwhile are said", async () => {
    const started = Date.now();
    const run = await drill(list(a(), b()), list(a(), b()), { during: list(a(), b({ ready: false })), env: { DB_DOWN_SECONDS: "2" } });
    expect(run.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(run.stdout).toContain("web-a\trestarts 0 -> 0\tReady true\tNotReady while the database was away: no");
    expect(run.stdout).toContain("web-b\trestarts 0 -> 0\tReady true\tNotReady while the database was away: yes");
    const back = /back after (\d+) ms\).*; 1 went NotReady while it was away/.exec(run.stdout);
    // The whole --down, not up to a second less (bash's SECONDS counts from inside a second).
    expect(Number(back?.[1])).toBeGreaterThanOrEqual(2000);
  });

  test("a pod whose container exited on the lost connection (restart count up): exit 1, named", async () => {
    const run = await drill(list(a({ restarts: 2 }), b()), list(a({ restarts: 2 }), b({ restarts: 1 })));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("web-a\trestarts 2 -> 2\tReady true");
    expect(run.stderr).toContain("web-b restarted 1 time(s)");
  });

  test("a pod replaced by a new one: exit 1, the old one named", async () => {
    const run = await drill(list(a(), b()), list(pod("web-c", "127.89.0.2"), b()));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("web-a\trestarts 0 -> gone");
    expect(run.stderr).toContain("web-a was replaced");
  });

  test("a pod that never comes back Ready: exit 1 after --timeout, named", async () => {
    const run = await drill(list(a(), b()), list(a(), b({ ready: false })), { extra: ["--timeout", "2"] });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("web-b is not Ready");
  });

  test("Ready, but /readyz answers 503 (not on the database): exit 1, with the pods' answers", async () => {
    readyz["127.89.0.3"] = 503;
    const run = await drill(list(a(), b()), list(a(), b()));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/a pod is not ready on the database: .*web-b\t503/);
  });

  test("not every pod Ready before: exit 1, and the database is not touched", async () => {
    const run = await drill(list(a(), b({ ready: false })), list(a(), b()));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("not every pod is Ready before the drill: web-b");
    expect(existsSync(join(dir, "restarted"))).toBe(false);
  });

  test("a DB_STOP_COMMAND that fails: exit 1, said", async () => {
    const run = await drill(list(a(), b()), list(a(), b()), { stopCommand: "exit 7" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("DB_STOP_COMMAND failed (exit 7)");
  });

  test("on a cluster: the database pod is deleted and awaited Ready under a new uid", async () => {
    const run = await drill(list(a(), b()), list(a(), b()), { viaPodDeletion: true });
    expect(run.code).toBe(0);
    expect(run.calls).toContain("-n data delete pod postgres-0 --wait=true --timeout=120s");
    expect(run.calls).toContain("-n data wait pod postgres-0 --for=condition=Ready --timeout=5s");
    expect(run.calls.filter((c) => c.startsWith("-n data get pod postgres-0"))).toHaveLength(2);
  });

  test.each([
    [["--namespace", "maestro", "--service", "compliance", "--db-namespace", "data"], "--db-pod is required"],
    [[...args, "--timeout", "soon"], "--timeout must be a whole number ≥ 1 (got 'soon')"],
    [[...args, "--settle", "-1"], "--settle must be a whole number ≥ 0 (got '-1')"],
    [[...args, "--port"], "--port needs a value"],
    [[...args, "--restart"], "unknown argument '--restart'"],
    [[...args, "--down", "5", "--stop-only"], "unknown argument '--stop-only'"],
  ])("bad usage %j: exit 2, named, nothing called", async (argv, message) => {
    const run = await runStubbed(script, argv, dir, { DB_STOP_COMMAND: `touch "${dir}/restarted"`, DB_START_COMMAND: "true" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.calls).toEqual([]);
  });

  test.each([
    [{ DB_STOP_COMMAND: "true" }, "DB_STOP_COMMAND and DB_START_COMMAND go together (only one is set)"],
    [{ DB_DOWN_SECONDS: "30" }, "--down needs DB_STOP_COMMAND and DB_START_COMMAND (a deleted database pod is made again at once)"],
    [{ DB_DOWN_SECONDS: "soon", DB_STOP_COMMAND: "true", DB_START_COMMAND: "true" }, "--down must be a whole number ≥ 0 (got 'soon')"],
  ])("bad environment %j: exit 2, named, nothing called", async (env, message) => {
    const run = await runStubbed(script, args, dir, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.calls).toEqual([]);
  });
});
