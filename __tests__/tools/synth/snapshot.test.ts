// `npm run synth` starts main.ts from a V8 start-up snapshot (tools/synth/run.sh, build.js). These
// tests run the real scripts: the snapshot must write exactly the bytes main.ts writes when it runs
// through tools/register.js, read its environment and argv when it runs (not when it was built),
// and be rebuilt when a file it was built from changes.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const root = resolve(__dirname, "..", "..", "..");
const runScript = join(root, "tools", "synth", "run.sh");

function synth(args: string[], env: NodeJS.ProcessEnv) {
  const result = spawnSync("bash", [runScript, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`tools/synth/run.sh ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result;
}

/** Every file under dir, relative path → contents. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

let scratch: string;
beforeAll(() => (scratch = mkdtempSync(join(tmpdir(), "maestro-synth-snapshot-"))));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test.each(["staging", "production"])("the snapshot writes the same bytes as main.ts through tools/register.js (%s)", (env) => {
  const viaSnapshot = join(scratch, `${env}-snapshot`);
  const viaRegister = join(scratch, `${env}-register`);
  const snap = synth(["--env", env], { CDKTF_OUTDIR: viaSnapshot });
  const direct = synth(["--env", env], { CDKTF_OUTDIR: viaRegister, MAESTRO_SYNTH_SNAPSHOT: "0" });
  expect(snap.stderr.replace(/^synth: building the start-up snapshot.*\n/m, "")).toBe(direct.stderr);
  const a = tree(viaSnapshot);
  const b = tree(viaRegister);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  expect(a.size).toBeGreaterThan(6);
  for (const [path, bytes] of a) expect({ path, same: bytes.equals(b.get(path)!) }).toEqual({ path, same: true });
});

test("the environment is read when the snapshot runs, not when it was built (MAESTRO_ENV, a bad --env)", () => {
  const out = join(scratch, "env");
  synth([], { CDKTF_OUTDIR: out, MAESTRO_ENV: "production" });
  const backend = (JSON.parse(readFileSync(join(out, "stacks", "mesh", "cdk.tf.json"), "utf8")) as { terraform: { backend: unknown } })
    .terraform.backend;
  expect(backend).toHaveProperty("s3.bucket", "maestro-production-tfstate");
  const bad = spawnSync("bash", [runScript, "--env", "qa"], { cwd: root, env: { ...process.env, CDKTF_OUTDIR: out }, encoding: "utf8" });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("unknown environment 'qa': use one of staging, production");
});

test("the blob is reused while its inputs are unchanged and rebuilt when one of them changes", () => {
  const cache = join(scratch, "cache");
  const env = { CDKTF_OUTDIR: join(scratch, "rebuild"), MAESTRO_SYNTH_CACHE: cache };
  const building = /^synth: building the start-up snapshot/m;
  expect(synth([], env).stderr).toMatch(building);
  const inputs = readFileSync(join(cache, "inputs"), "utf8").trim().split("\n");
  expect(inputs).toEqual(expect.arrayContaining(["main.ts", "config/staging.ts", "stacks/index.ts", "policy-engine/synth-gate.ts"]));
  expect(inputs.some((p) => p.startsWith("node_modules/"))).toBe(false);
  expect(synth([], env).stderr).not.toMatch(building);
  // A file the blob was built from changes: here one more listed file, whose contents then change.
  const listed = join(scratch, "listed-input.ts");
  writeFileSync(listed, "// one\n");
  appendFileSync(join(cache, "inputs"), `${listed}\n`);
  expect(synth([], env).stderr).toMatch(building);
  expect(synth([], env).stderr).not.toMatch(building);
  expect(readdirSync(cache).filter((f) => f.endsWith(".blob"))).toHaveLength(1);
});
