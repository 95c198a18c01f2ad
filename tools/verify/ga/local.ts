// The checks that run on this machine. Each calls the project's real tool (the CLI the runbook
// names) or its real service, and the other engineers' harnesses for the servers they need.
import { parseGateReport, type GateReportJson, type ReportedViolation } from "../../../contracts/violation";
import { drillRecordSchema, recordProblems } from "../../../contracts/records";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { buildService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { erroring, healthy, TrafficSimulator } from "../../../harness/traffic";
import { freePort, waitFor } from "../../../lib/net";
import * as pg from "../../../harness/postgres";
import { prometheusBinary, startMetricsTarget, startPrometheus } from "../../../harness/prometheus";
import { motoBinary, s3Client, s3TestEnv, startS3, stopS3 } from "../../../harness/s3";
import { findBinary, pathFirst, unshimmed } from "../../../harness/binaries";
import type { CheckContext, Outcome } from "./model";
import { exec, npmRun, repoRoot, tail } from "./run";

const pass = (detail: string): Outcome => ({ status: "PASS", detail });
const fail = (detail: string): Outcome => ({ status: "FAIL", detail });

/** A piece of the runbook that does not exist in this checkout: never a PASS. */
export function notImplemented(what: string): Outcome {
  return fail(`not implemented: ${what}`);
}

const hasScript = (name: string): boolean => {
  const scripts = (require(join(repoRoot, "package.json")) as { scripts?: Record<string, string> }).scripts ?? {};
  return name in scripts;
};
const hasFile = (path: string) => existsSync(join(repoRoot, path));

// ---------------------------------------------------------------------------------------------
// Synth + policy gate

export interface SynthGate {
  env: string;
  outdir: string;
  synthOk: boolean;
  synthError?: string;
  stacks: number;
  /** policy:check --format json, or the reason it did not run. */
  gate?: GateReportJson;
  gateError?: string;
}

/** `npm run synth -- --env <env>` into the run's scratch folder, then `npm run policy:check` over it (once per env). */
export function synthAndGate(ctx: CheckContext, env: string): Promise<SynthGate> {
  return ctx.once(`synth:${env}`, async () => {
    const outdir = join(ctx.scratch, `synth-${env}`);
    const synth = await npmRun("synth", ["--env", env], { env: { CDKTF_OUTDIR: outdir } });
    const stacksDir = join(outdir, "stacks");
    const stacks = existsSync(stacksDir) ? readdirSync(stacksDir).length : 0;
    const result: SynthGate = { env, outdir, synthOk: synth.code === 0 && stacks > 0, stacks };
    if (!result.synthOk) result.synthError = tail(synth);
    if (stacks === 0) return result;
    if (!hasScript("policy:check")) {
      result.gateError = "npm run policy:check does not exist";
      return result;
    }
    const check = await npmRun("policy:check", [outdir, "--format", "json", "--env", env]);
    if (check.code === 0 || check.code === 1) {
      try {
        result.gate = parseGateReport(check.stdout, "policy:check --format json");
      } catch (err) {
        result.gateError = `${(err as Error).message}: ${tail(check)}`;
      }
    } else result.gateError = `policy:check exited ${String(check.code)}: ${tail(check)}`;
    return result;
  });
}

const describeViolations = (vs: ReportedViolation[]) =>
  vs
    .slice(0, 3)
    .map((v) => `${v.rule} ${v.stack}/${v.resource}`)
    .join("; ") + (vs.length > 3 ? `; +${vs.length - 3} more` : "");

/** Synth exits 0 and the gate has no deny. */
export async function synthPassesGate(ctx: CheckContext, env: string): Promise<Outcome> {
  const r = await synthAndGate(ctx, env);
  if (!r.synthOk) return fail(`synth --env ${env} failed: ${r.synthError}`);
  if (!r.gate) return fail(`${r.stacks} stacks synthesized, but the gate did not run: ${r.gateError}`);
  if (r.gate.violations.length) return fail(`${r.gate.violations.length} deny: ${describeViolations(r.gate.violations)}`);
  return pass(`${r.stacks} stacks, ${r.gate.passed} rule checks passed, ${r.gate.warnings.length} warnings`);
}

/** The rules of one area (by rule id prefix) hold in both environments' synth output. */
export async function areaRulesHold(ctx: CheckContext, prefixes: string[], envs = ["staging", "production"]): Promise<Outcome> {
  const found: string[] = [];
  for (const env of envs) {
    const r = await synthAndGate(ctx, env);
    if (!r.gate) return fail(`no gate result for ${env}: ${r.synthError ?? r.gateError}`);
    const mine = r.gate.violations.filter((v) => prefixes.some((p) => v.rule.startsWith(p)));
    if (mine.length) found.push(`${env}: ${describeViolations(mine)}`);
  }
  if (found.length) return fail(found.join(" / "));
  return pass(`no ${prefixes.map((p) => `${p}*`).join(", ")} deny in ${envs.join(" or ")}`);
}

// ---------------------------------------------------------------------------------------------
// Policy bundle: fresh, tested, signed, and unsigned refused

export async function bundleMatchesSources(): Promise<Outcome> {
  if (!hasScript("policy:build")) return notImplemented("npm run policy:build");
  const r = await npmRun("policy:build", ["--check"]);
  return r.code === 0 ? pass(r.stdout.trim().split("\n").pop() ?? "matches") : fail(tail(r));
}

export async function opaTestsPass(): Promise<Outcome> {
  if (!hasScript("test:rego")) return notImplemented("npm run test:rego");
  const r = await exec("npm", ["run", "-s", "test:rego"]);
  const summary = `${r.stdout}\n${r.stderr}`.match(/PASS: \d+\/\d+|coverage[^\n]*/gi)?.join(", ");
  return r.code === 0 ? pass(summary ?? "opa test passed") : fail(tail(r));
}

/** A fresh ES256 key pair in the scratch folder (once per run). */
function signingKeys(ctx: CheckContext): Promise<{ privateKey: string; publicKey: string }> {
  return ctx.once("keys", async () => {
    const dir = join(ctx.scratch, "keys");
    mkdirSync(dir, { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const paths = { privateKey: join(dir, "signing.pem"), publicKey: join(dir, "signing.pub.pem") };
    writeFileSync(paths.privateKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(paths.publicKey, publicKey.export({ type: "spki", format: "pem" }));
    return paths;
  });
}

export async function signedBundleVerifies(ctx: CheckContext): Promise<Outcome> {
  if (!hasScript("policy:sign") || !hasScript("policy:verify")) return notImplemented("npm run policy:sign / policy:verify");
  const keys = await signingKeys(ctx);
  const signed = join(ctx.scratch, "bundle.signed.tar.gz");
  const sign = await npmRun("policy:sign", ["--key", keys.privateKey, "--out", signed]);
  if (sign.code !== 0) return fail(`policy:sign exited ${String(sign.code)}: ${tail(sign)}`);
  const verify = await npmRun("policy:verify", [signed, "--key", keys.publicKey]);
  return verify.code === 0
    ? pass(`signed with a fresh ES256 key; policy:verify exit 0`)
    : fail(`policy:verify exited ${String(verify.code)}: ${tail(verify)}`);
}

export async function unsignedBundleRefused(ctx: CheckContext): Promise<Outcome> {
  if (!hasScript("policy:verify")) return notImplemented("npm run policy:verify");
  const keys = await signingKeys(ctx);
  const r = await npmRun("policy:verify", [join(repoRoot, "policies", "dist", "bundle.tar.gz"), "--key", keys.publicKey]);
  const text = `${r.stdout}\n${r.stderr}`;
  if (r.code === 1 && text.includes("BUNDLE_UNSIGNED")) return pass("the shipped unsigned bundle: exit 1, BUNDLE_UNSIGNED");
  return fail(`expected exit 1 with BUNDLE_UNSIGNED, got exit ${String(r.code)}: ${tail(r)}`);
}

// ---------------------------------------------------------------------------------------------
// Rollouts: slo_gate.js against a real Prometheus

interface SloRig {
  prometheusUrl: string;
}

/**
 * A real Prometheus scraping the traffic simulator's series in the shape the service's /metrics
 * exports (once per run): `ga-healthy` and `ga-breaching` for the slo_gate checks, and `compliance`
 * (healthy) standing in for the service's live traffic on the local control plane, whose pods
 * serve nothing.
 */
export function sloRig(ctx: CheckContext): Promise<SloRig> {
  return ctx.once("slo", async () => {
    if (!prometheusBinary) throw new Error("prometheus is not installed (apt-get install prometheus)");
    const target = await startMetricsTarget();
    ctx.onClose(() => target.close());
    const traffic = new TrafficSimulator(target);
    traffic.set("ga-healthy", "maestro", healthy);
    traffic.set("ga-breaching", "maestro", erroring);
    traffic.set("compliance", "maestro", healthy);
    traffic.start();
    ctx.onClose(() => traffic.stop());
    const prom = await startPrometheus({ targets: [target.address], scrapeInterval: "1s" });
    ctx.onClose(() => prom.stop());
    await waitFor(
      "100 requests in Prometheus",
      async () => {
        const [s] = await prom.query('sum(increase(http_requests_total{service="ga-healthy"}[30s]))');
        return s !== undefined && Number(s.value[1]) >= 100;
      },
      45000,
      250,
    );
    return { prometheusUrl: prom.url };
  });
}

const sloArgs = (url: string, service: string) => [
  join(repoRoot, "tools", "ci", "slo_gate.js"),
  ...["--prometheus", url, "--service", service, "--namespace", "maestro", "--window", "30s"],
  ...["--max-error-ratio", "0.01", "--max-p99-ms", "300", "--min-requests", "50", "--format", "json"],
];

export async function sloGate(ctx: CheckContext, which: "healthy" | "breaching"): Promise<Outcome> {
  if (!hasFile("tools/ci/slo_gate.js")) return notImplemented("tools/ci/slo_gate.js");
  let rig: SloRig;
  try {
    rig = await sloRig(ctx);
  } catch (err) {
    return fail(`cannot start the Prometheus rig: ${(err as Error).message}`);
  }
  const r = await exec(process.execPath, sloArgs(rig.prometheusUrl, `ga-${which}`), { timeoutMs: 30000 });
  let verdict = "?";
  try {
    verdict = (JSON.parse(r.stdout) as { verdict: string }).verdict;
  } catch {
    /* reported below */
  }
  const want = which === "healthy" ? 0 : 1;
  const detail = `slo_gate.js on a ${which === "healthy" ? "healthy" : "10 %-error"} target: exit ${String(r.code)}, verdict ${verdict}`;
  return r.code === want ? pass(detail) : fail(`${detail} (expected exit ${want}); ${tail(r)}`);
}

// ---------------------------------------------------------------------------------------------
// Immutable audit: Object Lock denial on moto's S3

/**
 * The rollout suite against the real controller on the local control plane (docs/rollouts.md):
 * PASS only when all of its tests ran and passed (a suite skipped for a missing tool is a FAIL).
 */
export async function rolloutsUnderController(ctx: CheckContext): Promise<Outcome> {
  const suite = "__tests__/tools/cluster/real-controller.test.ts";
  if (!hasFile(suite)) return notImplemented(suite);
  const sequences = join(ctx.scratch, "rollout-sequences.md");
  const r = await exec("npm", ["run", "-s", "test:jest", "--", suite], { env: { ROLLOUT_SEQUENCES_OUT: sequences }, timeoutMs: 400_000 });
  const summary = /Tests:\s+(.*)/.exec(`${r.stderr}\n${r.stdout}`)?.[1]?.trim() ?? "";
  const passed = /^(\d+) passed, (\d+) total$/.exec(summary);
  if (r.code !== 0 || !passed || passed[1] !== passed[2]) return fail(`${suite}: ${summary || tail(r)}`);
  const times = existsSync(sequences)
    ? [...readFileSync(sequences, "utf8").matchAll(/^#### (\d)\. .* \((\d+(?:\.\d+)?) s\)$/gm)].map(([, n, s]) => `${n}: ${s} s`)
    : [];
  return pass(`${suite}: ${summary} against the real controller (scenario times ${times.join(", ") || "not written"})`);
}

export async function objectLockDenial(): Promise<Outcome> {
  if (!hasFile("tools/s3/enable_object_lock.sh")) return notImplemented("tools/s3/enable_object_lock.sh");
  if (!motoBinary) return fail("moto_server is not installed (tools/install/tools.sh)");
  const aws = findBinary("aws");
  if (!aws) return fail("the AWS CLI (aws) is not installed");
  const s3 = await startS3();
  const client = s3Client(s3.endpoint);
  try {
    const bucket = "maestro-ga-audit";
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const enable = await exec(
      "bash",
      [join(repoRoot, "tools/s3/enable_object_lock.sh"), bucket, "--days", "1", "--endpoint-url", s3.endpoint],
      {
        env: { ...s3TestEnv, AWS_MAX_ATTEMPTS: "1", PATH: pathFirst(unshimmed(aws)) },
        timeoutMs: 60000,
      },
    );
    if (enable.code !== 0) return fail(`enable_object_lock.sh exited ${String(enable.code)}: ${tail(enable)}`);
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: "audit/ga.json", Body: "{}" }));
    try {
      await client.send(
        new DeleteObjectCommand({ Bucket: bucket, Key: "audit/ga.json", VersionId: put.VersionId, BypassGovernanceRetention: true }),
      );
      return fail("deleting a locked version was accepted");
    } catch (err) {
      const name = (err as { name?: string }).name;
      return name === "AccessDenied"
        ? pass("enable_object_lock.sh set COMPLIANCE; deleting the locked version (even with the bypass header): AccessDenied")
        : fail(`delete failed with ${String(name)}, not AccessDenied`);
    }
  } finally {
    client.destroy();
    await stopS3(s3);
  }
}

// ---------------------------------------------------------------------------------------------
// HA + DR: a point-in-time restore drill on a real Postgres

export async function pitrDrill(ctx: CheckContext): Promise<Outcome> {
  if (!hasFile("tools/db/pitr.sh")) return notImplemented("tools/db/pitr.sh");
  if (pg.postgresMissing) return fail(`Postgres 15 server binaries missing: ${pg.postgresMissing}`);
  const work = join(ctx.scratch, "drill");
  const archive = join(work, "archive");
  mkdirSync(work, { recursive: true });
  for (const dir of [ctx.scratch, work]) chmodSync(dir, 0o755); // the server user must reach the archive
  pg.makeLocalArchive(archive);
  const env = { PATH: `${pg.postgresBinDir}:${process.env.PATH}`, TZ: "UTC" };
  const source = await pg.startPostgres({ settings: pg.localArchiveSettings(archive) });
  try {
    await source.query("create table drill (id int primary key)");
    const backup = await exec(
      "bash",
      [join(repoRoot, "tools/db/pitr.sh"), "base-backup", "--archive-dir", archive, "--port", String(source.port)],
      { env },
    );
    if (backup.code !== 0) return fail(`pitr.sh base-backup exited ${String(backup.code)}: ${tail(backup)}`);
    await source.query("insert into drill values (1)");
    await new Promise((r) => setTimeout(r, 50));
    const [{ target }] = (await source.query(
      `select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as target`,
    )) as Array<{ target: string }>;
    await new Promise((r) => setTimeout(r, 50));
    await source.query("insert into drill values (2)");
    await source.query("select pg_switch_wal()");
    await new Promise((r) => setTimeout(r, 1500)); // archive_command copies the switched segment
    const port = await freePort();
    const drill = await exec(
      "bash",
      [
        join(repoRoot, "tools/db/pitr.sh"),
        ...["--driver", "local", "--archive-dir", archive, "--target-dir", join(work, "restore"), "--port", String(port)],
        ...["--verify-sql", "select array_agg(id order by id) = array[1] from drill"],
      ],
      { env: { ...env, ISO_TS: target }, timeoutMs: 120000 },
    );
    if (drill.code !== 0) return fail(`pitr.sh exited ${String(drill.code)}: ${tail(drill)}`);
    const parsed = drillRecordSchema.safeParse(JSON.parse(drill.stdout));
    if (!parsed.success) return fail(`the drill record breaks contracts/records.ts: ${recordProblems(parsed.error)}`);
    const record = parsed.data;
    return record.result === "pass"
      ? pass(`restored to ${target}: row committed before it present, row after it absent; ${record.duration_seconds} s`)
      : fail(`drill record says ${record.result}: ${record.failure ?? drill.stdout.slice(0, 300)}`);
  } finally {
    await source.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The compliance service: identity guards, controls, exports

interface ServiceRig {
  inject(
    method: "GET",
    url: string,
    headers?: Record<string, string>,
  ): Promise<{ statusCode: number; body: string; rawPayload: Buffer; json(): unknown }>;
  token(groups: string[]): Promise<string>;
}

function serviceRig(ctx: CheckContext): Promise<ServiceRig> {
  return ctx.once("service", async () => {
    const dataDir = join(ctx.scratch, "service-data");
    mkdirSync(dataDir, { recursive: true });
    const service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dataDir }), { logger: false });
    ctx.onClose(() => service.close());
    return {
      inject: (method, url, headers = {}) => service.server.inject({ method, url, headers }) as never,
      token: (groups) => mintDevToken(dataDir, { subject: `ga-${groups.join("-")}`, groups }),
    };
  });
}

export async function tokenRequired(ctx: CheckContext): Promise<Outcome> {
  const svc = await serviceRig(ctx);
  const anonymous = await svc.inject("GET", "/api/compliance/controls");
  const forged = await svc.inject("GET", "/api/compliance/controls", { authorization: "Bearer not-a-jwt" });
  const noRole = await svc.inject("GET", "/api/compliance/controls", { authorization: `Bearer ${await svc.token(["contractors"])}` });
  const codes = `anonymous ${anonymous.statusCode}, bad token ${forged.statusCode}, no role ${noRole.statusCode}`;
  return anonymous.statusCode === 401 && forged.statusCode === 401 && noRole.statusCode === 403
    ? pass(codes)
    : fail(`${codes} (expected 401, 401, 403)`);
}

export async function requireReason(ctx: CheckContext): Promise<Outcome> {
  const svc = await serviceRig(ctx);
  const auth = { authorization: `Bearer ${await svc.token(["auditors"])}` };
  const without = await svc.inject("GET", "/api/compliance/audit", auth);
  const withReason = await svc.inject("GET", "/api/compliance/audit", { ...auth, "x-rfa": "GA-verify checklist run" });
  const codes = `auditor reading the audit log without x-rfa ${without.statusCode}, with x-rfa ${withReason.statusCode}`;
  return without.statusCode === 403 && withReason.statusCode === 200 ? pass(codes) : fail(`${codes} (expected 403, 200)`);
}

export async function controlsEndpoint(ctx: CheckContext): Promise<Outcome> {
  const svc = await serviceRig(ctx);
  const res = await svc.inject("GET", "/api/compliance/controls", { authorization: `Bearer ${await svc.token(["viewers"])}` });
  if (res.statusCode !== 200) return fail(`GET /api/compliance/controls: ${res.statusCode}`);
  const body = res.json() as { total?: number; controls?: Array<{ id: string; status: string }> };
  const controls = body.controls ?? [];
  if (!controls.length || controls.some((c) => !c.id || !c.status)) return fail("no controls, or a control without id/status");
  const byStatus = controls.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.status]: (acc[c.status] ?? 0) + 1 }), {});
  return pass(
    `${controls.length} controls with evidence status (${Object.entries(byStatus)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ")})`,
  );
}

export async function exportsWork(ctx: CheckContext): Promise<Outcome> {
  const svc = await serviceRig(ctx);
  const auth = { authorization: `Bearer ${await svc.token(["viewers"])}` };
  const json = await svc.inject("GET", "/api/compliance/export?format=json", auth);
  const pdf = await svc.inject("GET", "/api/compliance/export?format=pdf", auth);
  let controls = 0;
  try {
    controls = ((json.json() as { controls?: unknown[] }).controls ?? []).length;
  } catch {
    /* reported below */
  }
  const pdfOk = pdf.statusCode === 200 && pdf.rawPayload.subarray(0, 5).toString() === "%PDF-";
  const detail = `JSON export ${json.statusCode} (${controls} controls), PDF export ${pdf.statusCode} (${pdf.rawPayload.length} bytes${pdfOk ? ", %PDF-" : ""})`;
  return json.statusCode === 200 && controls > 0 && pdfOk ? pass(detail) : fail(detail);
}

export async function signedPackVerifies(ctx: CheckContext): Promise<Outcome> {
  if (!hasScript("verify:export")) return notImplemented("npm run verify:export");
  const svc = await serviceRig(ctx);
  const auth = { authorization: `Bearer ${await svc.token(["auditors"])}` };
  // Reading the audit log (with a reason) writes audit entries, so the pack has something to prove.
  await svc.inject("GET", "/api/compliance/audit", { ...auth, "x-rfa": "GA-verify signed pack" });
  const pack = await svc.inject("GET", "/api/compliance/export/signed", { ...auth, "x-rfa": "GA-verify signed pack" });
  const key = await svc.inject("GET", "/api/compliance/export/key", auth);
  if (pack.statusCode !== 200 || key.statusCode !== 200) return fail(`export/signed ${pack.statusCode}, export/key ${key.statusCode}`);
  const packFile = join(ctx.scratch, "pack.json");
  const keyFile = join(ctx.scratch, "pack.pub.pem");
  writeFileSync(packFile, pack.body);
  writeFileSync(keyFile, key.body);
  const r = await npmRun("verify:export", [packFile, "--key", keyFile]);
  return r.code === 0
    ? pass(`signed pack verified offline by verify:export: ${r.stdout.trim().split("\n")[0]}`)
    : fail(`verify:export exited ${String(r.code)}: ${tail(r)}`);
}
