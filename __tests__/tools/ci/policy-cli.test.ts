// The policy CLIs as CI runs them: exit 0 ok / 1 check failed / 2 bad usage or unreadable input.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthAll } from "../../../harness/synth";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { shippedBundlePath } from "../../../policy-engine/bundle";
import { buildBundle } from "../../../tools/ci/policy-build";
import { readTarGz, writeTarGz } from "../../../policy-engine/tar";
import { stackIds } from "../../../stacks";

const root = join(__dirname, "..", "..", "..");
const cli = (script: string, args: string[]) =>
  spawnSync(process.execPath, ["-r", "./tools/register.js", `tools/ci/${script}.ts`, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "maestro-policy-cli-"));
  // A synth output with one known violation: the mesh stack without its PeerAuthentication.
  const stacks = await synthAll("staging");
  for (const id of stackIds) {
    mkdirSync(join(dir, "out", "stacks", id), { recursive: true });
    const json = JSON.parse(JSON.stringify(stacks[id])) as { resource?: Record<string, Record<string, { manifest?: { kind?: string } }>> };
    if (id === "mesh") {
      const manifests = json.resource!.kubernetes_manifest;
      for (const [name, r] of Object.entries(manifests)) if (r.manifest?.kind === "PeerAuthentication") delete manifests[name];
    }
    writeFileSync(join(dir, "out", "stacks", id, "cdk.tf.json"), JSON.stringify(json));
  }
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "key.pem"), keys.privateKey.export({ format: "pem", type: "pkcs8" }) as string);
  writeFileSync(join(dir, "key.pub"), keys.publicKey.export({ format: "pem", type: "spki" }) as string);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("policy:check", () => {
  test("json: every violation with rule, severity, stack, resource, message; exit 1", () => {
    const r = cli("policy-check", [join(dir, "out"), "--format", "json"]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { violations: Array<Record<string, string>>; passed: number };
    const mesh = report.violations.filter((v) => v.stack === "mesh");
    expect(mesh).toEqual([
      expect.objectContaining({
        rule: "MAESTRO-MESH-002",
        severity: "high",
        stack: "mesh",
        resource: "stack mesh",
        message: expect.stringContaining("istio-system"),
      }),
    ]);
    expect(report.passed).toBeGreaterThan(100);
  });

  test("text: a summary line, then one line per violation with rule id, resource and fix", () => {
    const r = cli("policy-check", [join(dir, "out")]);
    expect(r.status).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^policy gate: FAIL: \d+ violations in \d+ of 6 stacks .*mesh.*, \d+ checks passed, 0 warnings$/);
    const i = lines.findIndex((l) => l.startsWith("DENY MAESTRO-MESH-002 [mesh] stack mesh: "));
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toMatch(/^ {7}fix: Add a PeerAuthentication named default/);
  });

  test("junit and sarif name the rule and the resource", () => {
    const junit = cli("policy-check", [join(dir, "out"), "--format", "junit"]);
    expect(junit.stdout).toMatch(/<testcase classname="mesh" name="MAESTRO-MESH-002 [^"]+">\s*<failure type="MAESTRO-MESH-002"/);
    const sarif = JSON.parse(cli("policy-check", [join(dir, "out"), "--format", "sarif"]).stdout) as {
      runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ logicalLocations: Array<{ fullyQualifiedName: string }> }> }> }>;
    };
    expect(sarif.runs[0].results).toContainEqual(
      expect.objectContaining({
        ruleId: "MAESTRO-MESH-002",
        locations: [expect.objectContaining({ logicalLocations: [{ fullyQualifiedName: "mesh/stack mesh" }] })],
      }),
    );
  });

  test("bad usage and unreadable input exit 2 naming the problem", () => {
    const format = cli("policy-check", [join(dir, "out"), "--format", "xml"]);
    expect([format.status, format.stderr.split("\n")[0]]).toEqual([
      2,
      "policy:check: --format must be one of text, json, junit, sarif (got 'xml')",
    ]);
    const missing = cli("policy-check", [join(dir, "nope")]);
    expect([missing.status, missing.stderr.trim()]).toEqual([2, `policy:check: ${join(dir, "nope")}: no such directory`]);
    mkdirSync(join(dir, "broken", "stacks", "mesh"), { recursive: true });
    writeFileSync(join(dir, "broken", "stacks", "mesh", "cdk.tf.json"), "{");
    const broken = cli("policy-check", [join(dir, "broken")]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/cdk\.tf\.json: not readable JSON/);
  });

  test("--key refuses an unsigned --bundle", () => {
    const r = cli("policy-check", [join(dir, "out"), "--bundle", shippedBundlePath, "--key", join(dir, "key.pub")]);
    expect([r.status, r.stderr.trim()]).toEqual([2, "policy:check: BUNDLE_UNSIGNED: the bundle has no .signatures.json"]);
  });
});

describe("policy:sign and policy:verify", () => {
  test("sign then verify exits 0; a tampered copy exits 1 with its code; bad usage exits 2", () => {
    const signed = join(dir, "signed.tar.gz");
    const sign = cli("policy-bundle-sign", ["--key", join(dir, "key.pem"), "--out", signed]);
    expect([sign.status, sign.stderr]).toEqual([0, ""]);
    const ok = cli("policy-verify", [signed, "--key", join(dir, "key.pub")]);
    expect([ok.status, ok.stdout]).toEqual([0, expect.stringMatching(/^policy:verify: OK .* signed by key 'default' \(RS256\)/)]);

    const bytes = readFileSync(signed);
    bytes[bytes.length - 5] ^= 0xff; // inside the gzip trailer
    writeFileSync(join(dir, "tampered.tar.gz"), bytes);
    const bad = cli("policy-verify", [join(dir, "tampered.tar.gz"), "--key", join(dir, "key.pub")]);
    expect([bad.status, bad.stderr]).toEqual([1, expect.stringMatching(/^policy:verify: BUNDLE_UNREADABLE: /)]);

    const unsigned = cli("policy-verify", [shippedBundlePath, "--key", join(dir, "key.pub")]);
    expect([unsigned.status, unsigned.stderr.trim()]).toEqual([1, "policy:verify: BUNDLE_UNSIGNED: the bundle has no .signatures.json"]);

    const usage = cli("policy-verify", [signed]);
    expect([usage.status, usage.stderr.split("\n")[0]]).toEqual([2, "policy:verify: --key <public.pem> is required"]);
    const noKey = cli("policy-bundle-sign", ["--key", join(dir, "missing.pem"), "--out", join(dir, "x.tar.gz")]);
    expect(noKey.status).toBe(2);
  });
});

describeWithService("the shipped bundle", findBinary("opa") ? undefined : "opa (tools/install/tools.sh opa)", () => {
  test("is what the sources build (policy:build --check compares the contained files)", () => {
    const r = cli("policy-build", ["--check"]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
  });

  test("--check fails naming the file when the shipped bundle is not what the sources build", () => {
    const stale = join(dir, "stale.tar.gz");
    const files = readTarGz(readFileSync(shippedBundlePath));
    writeFileSync(
      stale,
      writeTarGz(files.map((f) => (f.name === "/policy.wasm" ? { ...f, data: Buffer.concat([f.data, Buffer.from([0])]) } : f))),
    );
    const r = cli("policy-build", ["--check", "--out", stale]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("  - /policy.wasm: differs from what the sources build");
    const missing = cli("policy-build", ["--check", "--out", join(dir, "does-not-exist.tar.gz")]);
    expect([missing.status, missing.stderr]).toEqual([1, expect.stringContaining("does not exist; run npm run policy:build")]);
  });
});

describeWithService("policy:build's rule catalog", findBinary("opa") ? undefined : "opa (tools/install/tools.sh opa)", () => {
  const rule = (body: string) => `# METADATA
# title: Planted rule
# custom:
#   id: MAESTRO-PLANTED-001
#   severity: high
#   control: planted
#   fix: planted
deny contains v if {
	${body}
	v := {"rule": "MAESTRO-PLANTED-001"}
}
`;
  const plant = (name: string, rego: string) => {
    const sources = join(dir, name);
    mkdirSync(join(sources, "maestro", "rules", "planted"), { recursive: true });
    writeFileSync(join(sources, "maestro", "rules", "planted", "planted.rego"), rego);
    writeFileSync(join(sources, "maestro", "gate.rego"), "package maestro.gate\n\nresult := data.maestro.rules.planted.deny\n");
    return sources;
  };

  test("builds a bundle from a rule with one METADATA per id", () => {
    const sources = plant("one-metadata", `package maestro.rules.planted\n\n${rule("input.a")}`);
    expect(buildBundle(join(dir, "one.tar.gz"), sources).rules).toBe(1);
  });

  test("refuses an id whose METADATA appears twice, naming the id", () => {
    const sources = plant("twice", `package maestro.rules.planted\n\n${rule("input.a")}\n${rule("input.b")}`);
    expect(() => buildBundle(join(dir, "twice.tar.gz"), sources)).toThrow(
      "MAESTRO-PLANTED-001 has METADATA twice (maestro.rules.planted and maestro.rules.planted): one rule body per id",
    );
  });
});
