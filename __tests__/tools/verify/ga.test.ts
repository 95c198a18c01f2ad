import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadEnvironment } from "../../../config/load";
import { checklist, podsRunSignedBundle } from "../../../tools/verify/ga/checks";
import { parseOptions, selectChecks } from "../../../tools/verify/ga/main";
import { sections, type Check, type GaReport } from "../../../tools/verify/ga/model";
import { formatJunit, formatText } from "../../../tools/verify/ga/report";
import { runChecklist, verdictOf } from "../../../tools/verify/ga/runner";

const root = join(__dirname, "..", "..", "..");

describe("the GA checklist", () => {
  const staging = checklist(loadEnvironment("staging"));
  const production = checklist(loadEnvironment("production"));

  test("every runbook section has checks; every check runs here, on a cluster, or both; ids are unique", () => {
    for (const s of sections) expect(staging.filter((c) => c.section === s.id).length).toBeGreaterThan(0);
    for (const c of staging) expect(Boolean(c.local) || Boolean(c.cluster)).toBe(true);
    expect(new Set(staging.map((c) => c.id)).size).toBe(staging.length);
  });

  test("what the local control plane cannot stand in for: at most 5 checks, each a cluster command saying what it needs", () => {
    const needs = checklist(loadEnvironment("local")).filter((c) => c.needs);
    expect(needs.map((c) => c.id)).toEqual([
      "mtls.sidecarless-refused",
      "mtls.share",
      "audit.bucket-live",
      "dr.drill-live",
      "compliance.live",
    ]);
    for (const c of needs) expect(c.cluster).toBeTruthy();
  });

  test("the local part covers what the runbook runs locally", () => {
    const local = staging.filter((c) => c.local).map((c) => c.id);
    expect(local).toEqual(
      expect.arrayContaining([
        "policy.gate.staging",
        "policy.gate.production",
        "policy.signed-verifies",
        "policy.unsigned-refused",
        "rollouts.slo-healthy",
        "rollouts.slo-breach",
        "rollouts.controller",
        "audit.object-lock-denial",
        "dr.pitr-drill",
        "identity.require-reason",
        "compliance.controls",
        "compliance.exports",
        "compliance.signed-pack",
      ]),
    );
  });

  test("cluster commands use the environment's values and name scripts that exist", () => {
    const cmd = (list: Check[], id: string) => list.find((c) => c.id === id)!.cluster!;
    expect(cmd(staging, "audit.bucket-live")).toContain(loadEnvironment("staging").audit.bucketName);
    expect(cmd(production, "audit.bucket-live")).toContain(loadEnvironment("production").audit.bucketName);
    expect(cmd(production, "audit.bucket-live")).toContain(`>= ${loadEnvironment("production").audit.retentionDays}`);
    expect(cmd(staging, "mtls.share")).toContain(`--threshold ${loadEnvironment("staging").mesh.mtlsThresholdPercent}`);
    for (const c of staging.filter((x) => x.cluster)) {
      for (const script of c.cluster!.match(/tools\/[\w/.-]+\.(sh|js)/g) ?? []) expect(existsSync(join(root, script))).toBe(true);
      expect(spawnSync("bash", ["-n", "-c", c.cluster!]).status).toBe(0); // valid shell
    }
  });
});

describe("policy.runtime-signed: the verdict over what the pods answer (real jq)", () => {
  const health = (o: Record<string, unknown> = {}) =>
    JSON.stringify({ loaded: true, signed: true, allowUnsigned: false, revision: "r1", sha256: "a".repeat(64), ...o });
  const verdict = (bodies: string[]) => spawnSync("jq", ["-rse", podsRunSignedBundle], { input: bodies.join("\n"), encoding: "utf8" });
  test("every pod on the same signed bundle, unsigned refused: one line saying so", () => {
    const r = verdict([health(), health()]);
    expect([r.status, r.stdout]).toEqual([
      0,
      `2 pod(s) run signed bundle revision r1 (archive sha256 ${"a".repeat(12)}), unsigned refused\n`,
    ]);
  });
  test.each([
    ["no answer", [], "no pod answered"],
    ["an unsigned bundle", [health(), health({ signed: false })], "1 of 2 pod(s) run no signed bundle, or allow unsigned ones"],
    ["unsigned allowed", [health({ allowUnsigned: true })], "1 of 1 pod(s) run no signed bundle, or allow unsigned ones"],
    ["no bundle in force", [health({ loaded: false })], "1 of 1 pod(s) run no signed bundle, or allow unsigned ones"],
    ["two bundles", [health(), health({ sha256: "b".repeat(64) })], `the pods run different bundles: ${"a".repeat(12)}, ${"b".repeat(12)}`],
  ])("%s fails, saying what", (_name, bodies, message) => {
    const r = verdict(bodies);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
  test("the filter goes inside single quotes in the command", () => expect(podsRunSignedBundle).not.toContain("'"));
});

describe("running a checklist", () => {
  const check = (id: string, extra: Partial<Check>): Check => ({ id, section: "policy", title: `check ${id}`, ...extra });

  test("a check that starts early runs beside the ones after it and is reported in its place", async () => {
    // "slow" finishes only once "later" has started: run in turn, it would time out.
    let laterStarted!: () => void;
    const started = new Promise<void>((r) => (laterStarted = r));
    const order: string[] = [];
    const slow = (startsEarly: boolean) =>
      check("slow", {
        startsEarly,
        local: async () => (await started, order.push("slow done"), { status: "PASS", detail: "waited for later" }),
      });
    const later = check("later", { local: async () => (laterStarted(), order.push("later done"), { status: "PASS", detail: "ran" }) });
    const report = await runChecklist([check("first", { local: async () => ({ status: "PASS", detail: "-" }) }), slow(true), later], {
      env: "staging",
      cluster: false,
      timeoutMs: 2000,
    });
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ["first", "PASS"],
      ["slow", "PASS"],
      ["later", "PASS"],
    ]);
    expect(order).toEqual(["later done", "slow done"]);
    expect(report.results.find((r) => r.id === "slow")!.detail).toBe("waited for later");
  });

  test("without startsEarly checks run in turn: one that waits for a later one times out", async () => {
    let laterStarted!: () => void;
    const started = new Promise<void>((r) => (laterStarted = r));
    const report = await runChecklist(
      [
        check("slow", { local: async () => (await started, { status: "PASS", detail: "-" }) }),
        check("later", { local: async () => (laterStarted(), { status: "PASS", detail: "ran" }) }),
      ],
      { env: "staging", cluster: false, timeoutMs: 300 },
    );
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ["slow", "FAIL"],
      ["later", "PASS"],
    ]);
  });

  test("PASS, FAIL (returned, thrown, timed out) and NEEDS CLUSTER; only FAIL fails the verdict", async () => {
    let made = 0;
    const shared = (ctx: Parameters<NonNullable<Check["local"]>>[0]) => ctx.once("rig", async () => ++made);
    const report = await runChecklist(
      [
        check("a", { local: async (ctx) => ({ status: "PASS", detail: `rig ${await shared(ctx)}` }) }),
        check("b", { local: async (ctx) => ({ status: "PASS", detail: `rig ${await shared(ctx)}` }), cluster: "true" }),
        check("c", { local: async () => ({ status: "FAIL", detail: "not implemented: tools/x" }) }),
        check("d", {
          local: async () => {
            throw new Error("server did not start");
          },
        }),
        check("e", { local: () => new Promise(() => undefined) }),
        check("f", { cluster: "kubectl get pods" }),
      ],
      { env: "staging", cluster: false, timeoutMs: 300 },
    );
    expect(made).toBe(1);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ["a", "PASS"],
      ["b", "PASS"],
      ["b.cluster", "NEEDS CLUSTER"],
      ["c", "FAIL"],
      ["d", "FAIL"],
      ["e", "FAIL"],
      ["f", "NEEDS CLUSTER"],
    ]);
    expect(report.results.find((r) => r.id === "d")!.detail).toBe("error: server did not start");
    expect(report.results.find((r) => r.id === "e")!.detail).toBe("did not finish within 0.3 s");
    expect(report.results.find((r) => r.id === "f")!.command).toBe("kubectl get pods");
    expect(report.verdict).toBe("FAIL");
    expect(report.counts).toEqual({ PASS: 2, FAIL: 3, "NEEDS CLUSTER": 2 });
    expect(verdictOf(report.results.filter((r) => r.status !== "FAIL"))).toBe("PASS");
  });

  test("--cluster runs the commands: exit 0 is PASS, anything else FAIL with the output", async () => {
    const report = await runChecklist(
      [
        check("ok", { cluster: "true" }),
        check("no", { cluster: "echo 'no kube context' >&2; exit 3" }),
        // The reason (stderr) is kept after what the command printed on stdout before it.
        check("why", { cluster: "printf 'pod-a\\tok\\npod-b\\tok\\npod-c\\tok\\n\\n'; echo 'pod-b restarted' >&2; exit 1" }),
      ],
      { env: "staging", cluster: true },
    );
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ["ok", "PASS"],
      ["no", "FAIL"],
      ["why", "FAIL"],
    ]);
    expect(report.results[1].detail).toBe("exit 3: no kube context");
    expect(report.results[2].detail).toBe("exit 1: pod-b\tok | pod-c\tok | pod-b restarted");
    // What differs on the local control plane is said only there.
    const real = await runChecklist([check("pods", { cluster: "true", onLocalCluster: "kwok's pods" })], { env: "staging", cluster: true });
    expect(real.results[0].detail).toBe("exit 0");
  });

  test("on a cluster the run sets up: commands get its environment, a check needing what it lacks stays NEEDS CLUSTER saying what", async () => {
    let setups = 0;
    const report = await runChecklist(
      [
        check("env", { cluster: 'test "$KUBECONFIG" = /tmp/kc && echo "context ok"' }),
        check("again", { cluster: "true", onLocalCluster: "its pod ran on the host kubelet" }),
        check("sidecar", { cluster: "exit 9", needs: "a data plane" }),
      ],
      {
        env: "local",
        cluster: false,
        clusterSetup: async () => {
          setups++;
          return { env: { KUBECONFIG: "/tmp/kc" } };
        },
      },
    );
    expect(setups).toBe(1);
    expect(report.cluster).toBe("local");
    expect(report.results.map((r) => [r.id, r.status, r.detail])).toEqual([
      ["env", "PASS", "context ok"],
      ["again", "PASS", "exit 0 [local control plane: its pod ran on the host kubelet]"],
      ["sidecar", "NEEDS CLUSTER", "needs a data plane, which the local control plane does not have"],
    ]);
    expect(formatText(report)).toMatch(/Verdict: PASS on the local control plane: 2 passed, 1 need a data plane or a cloud account/);
  });

  test("only a real cluster and the whole checklist say 'tag': the local control plane and --only never do", () => {
    const passed = (cluster: GaReport["cluster"], only?: string[]): GaReport => ({
      env: "staging",
      cluster,
      verdict: "PASS",
      counts: { PASS: 3, FAIL: 0, "NEEDS CLUSTER": 0 },
      results: [],
      ...(only ? { only } : {}),
    });
    expect(formatText(passed(true))).toMatch(/Verdict: PASS: all 3 checks passed\. Tag the release and promote\./);
    expect(formatText(passed("local"))).toMatch(
      /Verdict: PASS on the local control plane: all 3 checks passed \(run `npm run verify:ga -- --cluster`/,
    );
    expect(formatText(passed("local", ["dr", "identity.scim-sync"]))).toMatch(
      /Verdict: PASS: all 3 selected checks passed on the local control plane \(--only dr,identity\.scim-sync: run the whole checklist before tagging\)\./,
    );
    expect(formatText(passed(true, ["dr"]))).toMatch(/all 3 selected checks passed \(--only dr: run the whole checklist before tagging\)/);
    for (const text of [passed("local"), passed("local", ["dr"]), passed(true, ["dr"])].map(formatText))
      expect(text).not.toMatch(/Tag the release/);
  });

  test("a cluster set-up that fails FAILs every cluster check with its reason (and never runs the commands)", async () => {
    const report = await runChecklist([check("a", { cluster: "true" }), check("b", { cluster: "true" })], {
      env: "local",
      cluster: false,
      clusterSetup: () => Promise.reject(new Error("missing kwok")),
    });
    expect(report.results.map((r) => [r.status, r.detail])).toEqual([
      ["FAIL", "the local control plane did not come up: missing kwok"],
      ["FAIL", "the local control plane did not come up: missing kwok"],
    ]);
  });

  test("text lists commands for NEEDS CLUSTER and the verdict; JUnit marks them skipped", async () => {
    const report: GaReport = await runChecklist(
      [check("x", { local: async () => ({ status: "PASS", detail: "fine" }), cluster: "kubectl version" })],
      {
        env: "production",
        cluster: false,
      },
    );
    const text = formatText(report);
    expect(text).toContain("Policy supply chain\n  [PASS] check x\n      fine\n  [NEEDS CLUSTER] check x\n      $ kubectl version");
    expect(text).toMatch(/Verdict: PASS locally: 1 passed, 1 need a cluster/);
    const junit = formatJunit(report);
    expect(junit).toContain('<testsuite name="Policy supply chain" tests="2" failures="0" skipped="1"');
    expect(junit).toContain('<skipped message="needs cluster: kubectl version"/>');
  });
});

describe("verify:ga usage", () => {
  test.each([
    [["--format", "xml"], /--format must be one of text, json \(got 'xml'\)/],
    [["--junit"], /--junit needs a value/],
    [["--bogus"], /unknown option '--bogus'/],
  ])("%j is refused naming the flag", (args, message) => {
    expect(() => parseOptions(args)).toThrow(message);
  });

  test("--local-cluster runs the local environment, and only that one, and not together with --cluster", () => {
    expect(parseOptions(["--local-cluster"])).toMatchObject({ env: "local", localCluster: true, cluster: false });
    expect(() => parseOptions(["--local-cluster", "--env", "staging"])).toThrow(
      /--local-cluster runs the local environment \(config\/local.ts\), not --env staging/,
    );
    expect(() => parseOptions(["--local-cluster", "--cluster"])).toThrow(/--cluster and --local-cluster: choose one/);
  });

  test("--only selects by section or id and refuses unknown names", () => {
    const all = checklist(loadEnvironment("staging"));
    expect(selectChecks(all, ["dr"]).map((c) => c.id)).toEqual([
      "dr.pitr-drill",
      "dr.drill-live",
      "dr.standby",
      "dr.db-restart",
      "dr.schedules",
    ]);
    expect(selectChecks(all, ["policy.gate"]).map((c) => c.id)).toEqual(["policy.gate.staging", "policy.gate.production"]);
    expect(() => selectChecks(all, ["nope"])).toThrow(/--only: no check or section 'nope'/);
  });

  test("end to end: the real tools for two checks, JSON report, exit 0", () => {
    const r = spawnSync(
      "npm",
      ["run", "-s", "verify:ga", "--", "--only", "policy.unsigned-refused,identity.require-reason,identity.scim-sync", "--format", "json"],
      {
        cwd: root,
        encoding: "utf8",
        timeout: 120000,
      },
    );
    const report = JSON.parse(r.stdout) as GaReport;
    expect(report.results.map((x) => [x.id, x.status])).toEqual([
      ["policy.unsigned-refused", "PASS"],
      ["identity.require-reason", "PASS"],
      ["identity.scim-sync", "NEEDS CLUSTER"],
    ]);
    expect(r.status).toBe(0);
  }, 120000);
});
