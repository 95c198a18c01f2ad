import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEnvironment } from "../../../../config/load";
import { run } from "../../../../tools/ci/synth-diff/main";
import type { ResourceChange, SynthDiff } from "../../../../tools/ci/synth-diff/model";
import { findBinary } from "../../../../harness/binaries";

const root = join(__dirname, "..", "..", "..", "..");
let scratch: string;
let staging: string;
let production: string;

/** Real synth through main.ts, the way CI runs it (several run in parallel). */
function synth(env: string, outdir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "./tools/register.js", "main.ts", "--env", env], {
      cwd: root,
      env: { ...process.env, CDKTF_OUTDIR: outdir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) =>
      existsSync(join(outdir, "manifest.json")) ? resolve() : reject(new Error(`synth ${env} exited ${status}: ${stderr}`)),
    );
  });
}

function copy(from: string, name: string): string {
  const to = join(scratch, name);
  cpSync(from, to, { recursive: true });
  return to;
}

/** Edits one stack's cdk.tf.json in place. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test edits reach deep into Terraform JSON
function mutate(dir: string, stack: string, edit: (tf: Record<string, any>) => void): void {
  const file = join(dir, "stacks", stack, "cdk.tf.json");
  const tf = JSON.parse(readFileSync(file, "utf8"));
  edit(tf);
  writeFileSync(file, JSON.stringify(tf, null, 2));
}

async function jsonDiff(...args: string[]): Promise<{ code: number; diff: SynthDiff }> {
  const r = await run([...args, "--format", "json", "--policy", "off"]);
  if (r.code === 2) throw new Error(r.stderr);
  return { code: r.code, diff: JSON.parse(r.stdout) as SynthDiff };
}

const resource = (d: SynthDiff, stack: string, address: string): ResourceChange | undefined =>
  d.stacks.find((s) => s.stack === stack)?.resources.find((r) => r.address === address);

let stagingAgain: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "maestro-synth-diff-test-"));
  staging = join(scratch, "staging");
  stagingAgain = join(scratch, "staging-again");
  production = join(scratch, "production");
  await Promise.all([synth("staging", staging), synth("staging", stagingAgain), synth("production", production)]);
}, 60000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("synth diff on real synth output", () => {
  test("two synths of the same commit differ in nothing; every stack is one unchanged line", async () => {
    const again = stagingAgain;
    const { code, diff } = await jsonDiff(staging, again);
    expect(code).toBe(0);
    expect(diff.summary.resources).toEqual({ added: 0, removed: 0, changed: 0 });
    expect(diff.stacks.map((s) => s.status)).toEqual(["unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged"]);
    const md = (await run([staging, again, "--policy", "off"])).stdout;
    expect(md).toMatch(/\*\*0 of 6 stacks changed\*\*/);
    expect(md).toContain("Unchanged stacks: `platform`, ");
    expect(md).not.toContain("#### Stack");
  });

  test("a namespace label, a Helm value and a removed namespace show as exactly those field changes", async () => {
    const head = copy(staging, "head-labels");
    mutate(head, "platform", (tf) => {
      tf.resource.kubernetes_namespace_v1["namespace-app"].metadata.labels.team = "payments";
      const values = JSON.parse(tf.resource.helm_release.istiod.values[0]);
      values.pilot.autoscaleMin = 5;
      values.meshConfig.enableAutoMtls = false;
      tf.resource.helm_release.istiod.values[0] = JSON.stringify(values);
      delete tf.resource.kubernetes_namespace_v1["namespace-monitoring"];
    });
    const { code, diff } = await jsonDiff(staging, head);
    expect(code).toBe(0);
    const platform = diff.stacks.find((s) => s.stack === "platform")!;
    expect(platform.status).toBe("changed");
    expect(diff.stacks.filter((s) => s.status === "unchanged")).toHaveLength(5);
    expect(platform.resources.map((r) => [r.action, r.address])).toEqual([
      ["changed", "helm_release.istiod"], // security-relevant first
      ["changed", "kubernetes_namespace_v1.namespace-app"],
      ["removed", "kubernetes_namespace_v1.namespace-monitoring"],
    ]);
    const pilotMin = loadEnvironment("staging").name === "production" ? 2 : 1;
    expect(resource(diff, "platform", "helm_release.istiod")!.fields).toEqual([
      { path: "values[0].meshConfig.enableAutoMtls", action: "changed", old: true, new: false, security: ["mtls"] },
      { path: "values[0].pilot.autoscaleMin", action: "changed", old: pilotMin, new: 5, security: [] },
    ]);
    expect(resource(diff, "platform", "kubernetes_namespace_v1.namespace-app")!.fields).toEqual([
      { path: "metadata.labels.team", action: "added", new: "payments", security: [] },
    ]);
    expect(diff.summary).toEqual({
      stacks: { added: 0, removed: 0, changed: 1, unchanged: 5 },
      resources: { added: 0, removed: 1, changed: 2 },
      securityRelevant: 1,
    });
    const md = (await run([staging, head, "--policy", "off"])).stdout;
    expect(md).toContain("| mTLS mode | `platform` | ~ `helm_release.istiod`");
    expect(md).toContain("`values[0].meshConfig.enableAutoMtls` | `true` → `false` |");
    expect(md).toContain("- − `kubernetes_namespace_v1.namespace-monitoring` (monitoring): removed");
  });

  test("cdktf's // metadata is ignored", async () => {
    const head = copy(staging, "head-metadata");
    mutate(head, "platform", (tf) => {
      tf["//"].metadata.version = "9.9.9";
      tf.resource.helm_release.istiod["//"].metadata.path = "platform/somewhere-else";
    });
    expect((await jsonDiff(staging, head)).diff.summary.resources).toEqual({ added: 0, removed: 0, changed: 0 });
  });

  test("secret-looking values are masked in markdown and JSON, references are not", async () => {
    const head = copy(staging, "head-secrets");
    const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAleaked\n-----END RSA PRIVATE KEY-----";
    mutate(head, "platform", (tf) => {
      const values = JSON.parse(tf.resource.helm_release["argo-rollouts"].values[0]);
      values.notifications = {
        secret: { items: { "slack-token": "xoxb-1234567890-leakedvalue" } },
        password: "hunter2-leaked",
        existingSecretName: "argo-notify",
      };
      tf.resource.helm_release["argo-rollouts"].values[0] = JSON.stringify(values);
      tf.resource.kubernetes_namespace_v1["namespace-app"].metadata.annotations = { "example.com/key": pem };
    });
    for (const format of ["markdown", "json"]) {
      const out = (await run([staging, head, "--format", format, "--policy", "off"])).stdout;
      expect(out).not.toMatch(/leaked/);
      expect(out).toContain("***");
    }
    // A Secret's name is a reference, not a secret.
    expect((await run([staging, head, "--format", "json", "--policy", "off"])).stdout).toContain('"existingSecretName": "argo-notify"');
    const fields = resource((await jsonDiff(staging, head)).diff, "platform", "helm_release.argo-rollouts")!.fields;
    expect(fields.find((f) => f.path === "values[0].notifications")).toEqual({
      path: "values[0].notifications",
      action: "added",
      new: { secret: { items: { "slack-token": "***" } }, password: "***", existingSecretName: "argo-notify" },
      masked: true,
      security: [],
    });
  });

  test("staging vs production: the environment differences, retention and Object Lock flagged", async () => {
    const { diff } = await jsonDiff(staging, production);
    const [stg, prod] = [loadEnvironment("staging"), loadEnvironment("production")];
    expect(diff.stacks.every((s) => s.status === "changed")).toBe(true);
    // State backend: local for staging, S3 for production, in every stack.
    for (const s of diff.stacks) {
      const tf = s.resources.find((r) => r.address === "terraform")!;
      expect(tf.fields.map((f) => [f.path, f.action])).toEqual(
        expect.arrayContaining([
          ["backend.local", "removed"],
          ["backend.s3", "added"],
        ]),
      );
    }
    const retention = diff.stacks
      .find((s) => s.stack === "audit")!
      .resources.flatMap((r) => r.fields.map((f) => ({ address: r.address, ...f })))
      .find((f) => f.address.startsWith("aws_s3_bucket_object_lock_configuration.") && f.path === "rule.default_retention.days");
    if (stg.audit.retentionDays !== prod.audit.retentionDays) {
      expect(retention).toMatchObject({
        old: stg.audit.retentionDays,
        new: prod.audit.retentionDays,
        security: ["object-lock", "retention"],
      });
    }
    expect(resource(diff, "platform", "provider.kubernetes")!.fields).toEqual([
      { path: "config_context", action: "changed", old: stg.cluster.context, new: prod.cluster.context, security: [] },
    ]);
    const md = (await run([staging, production, "--policy", "off"])).stdout;
    expect(md.length).toBeLessThan(60000);
    expect(md.indexOf("⚠ Security-relevant changes")).toBeLessThan(md.indexOf("#### Stack"));
  });
});

describe("policy verdicts and exit codes", () => {
  const violation = (rule: string, resourceAddress: string, severity = "high") => ({
    rule,
    severity,
    stack: "mesh",
    resource: resourceAddress,
    message: `${rule} broken`,
  });
  let base: string;
  let head: string;
  beforeAll(() => {
    base = join(scratch, "base-report.json");
    head = join(scratch, "head-report.json");
    const warnings = [violation("MAESTRO-K8S-009", "x", "low")];
    writeFileSync(base, JSON.stringify({ violations: [violation("MAESTRO-MESH-001", "kubernetes_manifest.a")], warnings, passed: 40 }));
    writeFileSync(head, JSON.stringify({ violations: [violation("MAESTRO-MESH-002", "kubernetes_manifest.b")], warnings, passed: 40 }));
  });

  test("new and fixed violations versus base; exit 1 on a deny in head", async () => {
    const r = await run([staging, staging, "--policy-head", head, "--policy-base", base, "--format", "json"]);
    expect(r.code).toBe(1);
    const diff = JSON.parse(r.stdout) as SynthDiff;
    expect(diff.policy!.introduced.map((v) => v.rule)).toEqual(["MAESTRO-MESH-002"]);
    expect(diff.policy!.fixed.map((v) => v.rule)).toEqual(["MAESTRO-MESH-001"]);
    const md = (await run([staging, staging, "--policy-head", head, "--policy-base", base])).stdout;
    expect(md).toContain("❌ **1 deny**, 1 warn, 40 checks passed · versus base: 1 new, 1 fixed");
    expect(md).toMatch(/\*\*New violations\*\*[\s\S]*MAESTRO-MESH-002/);
  });

  test("the real policy gate runs on both sides: no change, no new deny; a PERMISSIVE PeerAuthentication is a new deny", async () => {
    const same = await run([staging, stagingAgain, "--format", "json"]);
    const sameDiff = JSON.parse(same.stdout) as SynthDiff;
    expect(sameDiff.policy!.head.passed).toBeGreaterThan(10);
    expect(sameDiff.policy!).toMatchObject({ introduced: [], fixed: [] });
    // Exit 1 exactly when head has a deny (whatever the stacks hold today); never for an unchanged deny under new-deny.
    expect(same.code).toBe(sameDiff.policy!.head.violations.length > 0 ? 1 : 0);
    expect((await run([staging, stagingAgain, "--fail-on", "new-deny"])).code).toBe(0);

    const broken = copy(staging, "head-permissive");
    mutate(broken, "mesh", (tf) => {
      for (const r of Object.values<{ manifest: { kind: string; spec: { mtls?: { mode: string } } } }>(tf.resource.kubernetes_manifest)) {
        if (r.manifest.kind === "PeerAuthentication") r.manifest.spec.mtls = { mode: "PERMISSIVE" };
      }
    });
    const r = await run([staging, broken, "--format", "json"]);
    expect(r.code).toBe(1);
    const diff = JSON.parse(r.stdout) as SynthDiff;
    expect(diff.policy!.introduced.length).toBeGreaterThan(0);
    expect(diff.policy!.introduced.every((v) => v.stack === "mesh" && /PeerAuthentication|mTLS|STRICT/i.test(v.message))).toBe(true);
    expect((await run([staging, broken, "--fail-on", "new-deny"])).code).toBe(1);
    expect(diff.policy!.fixed).toEqual([]);
    const mtls = diff.stacks.find((s) => s.stack === "mesh")!.resources[0];
    expect(mtls.fields).toEqual([
      { path: "manifest.spec.mtls.mode", action: "changed", old: "STRICT", new: "PERMISSIVE", security: ["mtls"] },
    ]);
    const md = (await run([staging, broken])).stdout;
    expect(md).toMatch(/❌ \*\*\d+ deny\*\*.*versus base: \d+ new, 0 fixed/);
    expect(md).toContain("| `" + diff.policy!.introduced[0].rule + "` |");
  });

  test("--fail-on new-deny passes when every deny was already in base; warnings never fail", async () => {
    expect((await run([staging, staging, "--policy-head", head, "--policy-base", head, "--fail-on", "new-deny"])).code).toBe(0);
    expect((await run([staging, staging, "--policy-head", head, "--policy-base", head])).code).toBe(1);
    const warnOnly = join(scratch, "warn-only.json");
    writeFileSync(warnOnly, JSON.stringify({ violations: [], warnings: [violation("MAESTRO-K8S-009", "x", "low")], passed: 3 }));
    expect((await run([staging, staging, "--policy-head", warnOnly])).code).toBe(0);
  });

  test.each([
    [["only-one"], /expected two arguments/],
    [["/nonexistent-a", "/nonexistent-b"], /base: \/nonexistent-a is not a directory/],
    [["a", "b", "--format", "html"], /--format must be one of markdown, json \(got 'html'\)/],
    [["a", "b", "--bogus"], /unknown option '--bogus'/],
    [["a", "b", "--fail-on"], /--fail-on needs a value/],
  ])("bad usage %j exits 2 naming the problem", async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test("a malformed policy report exits 2 naming the field", async () => {
    const bad = join(scratch, "bad-report.json");
    writeFileSync(bad, JSON.stringify({ violations: [{ rule: "X", severity: "deny", stack: "s", resource: "r" }], passed: 1 }));
    const r = await run([staging, staging, "--policy-head", bad]);
    expect(r).toMatchObject({ code: 2 });
    expect(r.stderr).toContain("violations[0].message: Invalid input: expected string");
  });

  test("--help exits 0 and documents the exit codes", async () => {
    expect(await run(["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("Exit: 0") });
  });
});

const terraform = findBinary("terraform") ?? findBinary("tofu");
(terraform ? describe : describe.skip)("a real `terraform show -json` plan renders in the same format", () => {
  test("changed, added and sensitive values of a terraform_data plan", async () => {
    const dir = join(scratch, "tf");
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(root, "__tests__", "fixtures", "synth-diff", "plan"), dir, { recursive: true });
    const tf = (...args: string[]) => {
      const r = spawnSync(terraform!, args, {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" },
      });
      if (r.status !== 0) throw new Error(`terraform ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    tf("init", "-input=false", "-no-color");
    tf("apply", "-auto-approve", "-input=false", "-no-color", "-var", "mode=STRICT");
    tf("plan", "-out=plan.bin", "-input=false", "-no-color", "-var", "mode=PERMISSIVE", "-var", "extra=true");
    writeFileSync(join(dir, "plan.json"), tf("show", "-json", "plan.bin"));
    const { diff } = await jsonDiff("--plan", `mesh=${join(dir, "plan.json")}`);
    expect(diff.stacks.map((s) => s.stack)).toEqual(["mesh"]);
    const mesh = resource(diff, "mesh", "terraform_data.peer_authentication")!;
    expect(mesh.fields).toEqual(
      expect.arrayContaining([{ path: "input.mode", action: "changed", old: "STRICT", new: "PERMISSIVE", security: [] }]),
    );
    expect(resource(diff, "mesh", "terraform_data.extra[0]")).toMatchObject({ action: "added" });
    expect(JSON.stringify(diff)).not.toContain("plan-secret-value");
  }, 60000);
});
