// The one CLI convention (lib/cli.ts), through real CLIs started as child processes: --help,
// an unknown option, a missing value, and the exit codes 0 ok / 1 check failed or known error /
// 2 bad usage. An unknown error (a bug) is run in-process: no real CLI has one on purpose.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliInputError, parseCli, runCli, UsageError, type Cli } from "../../lib/cli";
import { MaestroError } from "../../lib/errors";
import { shippedBundlePath } from "../../policy-engine/bundle";

const root = join(__dirname, "..", "..");
const cli = (script: string, args: string[]) =>
  spawnSync(process.execPath, ["-r", "./tools/register.js", script, ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
const verify = (args: string[]) => cli("tools/ci/policy-verify.ts", args);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "maestro-cli-"));
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "key.pem"), keys.privateKey.export({ format: "pem", type: "pkcs8" }) as string);
  writeFileSync(join(dir, "key.pub"), keys.publicKey.export({ format: "pem", type: "spki" }) as string);
  writeFileSync(join(dir, "empty.json"), "{}");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a real CLI by the one convention (policy:verify, policy:sign, check-record as child processes)", () => {
  test("--help prints the usage on stdout and exits 0", () => {
    const r = verify(["--help"]);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toMatch(/^usage: npm run -s policy:verify -- <bundle.tar.gz> --key <public.pem>/);
    expect(cli("tools/db/check-record.ts", ["-h"]).status).toBe(0);
  });

  test("an unknown option exits 2 naming it, then the usage", () => {
    const r = verify([shippedBundlePath, "--key", join(dir, "key.pub"), "--bogus"]);
    expect(r.status).toBe(2);
    expect(r.stderr.split("\n").slice(0, 2)).toEqual([
      "policy:verify: unknown option '--bogus'",
      "usage: npm run -s policy:verify -- <bundle.tar.gz> --key <public.pem> [options]",
    ]);
    expect(r.stdout).toBe("");
  });

  test("a missing value exits 2 naming the flag, at the end and before another flag", () => {
    expect(verify([shippedBundlePath, "--key"])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/^policy:verify: --key needs a value\n/),
    });
    const r = verify([shippedBundlePath, "--scope", "--key", join(dir, "key.pub")]);
    expect([r.status, r.stderr.split("\n")[0]]).toEqual([2, "policy:verify: --scope needs a value"]);
    const flag = verify([shippedBundlePath, "--key", join(dir, "key.pub"), "--key-id"]);
    expect([flag.status, flag.stderr.split("\n")[0]]).toEqual([2, "policy:verify: --key-id needs a value"]);
  });

  test("0 ok; 1 a known error printed as '<tool>: <message>', without the usage", () => {
    const signed = join(dir, "signed.tar.gz");
    const sign = cli("tools/ci/policy-bundle-sign.ts", ["--key", join(dir, "key.pem"), "--out", signed]);
    expect([sign.status, sign.stderr]).toEqual([0, ""]);
    expect(verify([signed, "--key", join(dir, "key.pub")]).status).toBe(0);
    const unsigned = verify([shippedBundlePath, "--key", join(dir, "key.pub")]);
    expect([unsigned.status, unsigned.stderr]).toEqual([1, "policy:verify: BUNDLE_UNSIGNED: the bundle has no .signatures.json\n"]);
  });

  test("1 a check failed; 2 bad usage (check-record)", () => {
    const failed = cli("tools/db/check-record.ts", ["drill", join(dir, "empty.json")]);
    expect([failed.status, failed.stderr]).toEqual([1, expect.stringMatching(/^check-record: .*empty\.json is not a drill record: /)]);
    const usage = cli("tools/db/check-record.ts", ["restore", join(dir, "empty.json")]);
    expect([usage.status, usage.stderr]).toEqual([
      2,
      "check-record: expected backup|drill and one FILE\nusage: tools/db/check-record.ts backup|drill FILE\n",
    ]);
  });
});

describe("runCli in-process", () => {
  const run = async (main: Cli["main"], extra: Partial<Cli> = {}, argv: string[] = []) => {
    let out = "";
    let err = "";
    const code = await runCli({ tool: "t", usage: "usage: t [--x]", main, ...extra }, argv, {
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    return { code, out, err };
  };

  test("an unknown error (a bug) prints its stack and exits 1", async () => {
    const r = await run(() => {
      throw new TypeError("boom");
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^t: TypeError: boom\n\s+at /);
  });

  test("a tool's documented code for a known error, never for a usage error", async () => {
    const input = await run(
      () => {
        throw new CliInputError("INPUT_UNREADABLE", "x: not readable");
      },
      { exitCode: () => 2 },
    );
    expect(input).toEqual({ code: 2, out: "", err: "t: x: not readable\n" });
    const usage = await run(
      () => {
        throw new UsageError("nope");
      },
      { exitCode: () => 7 },
    );
    expect(usage).toEqual({ code: 2, out: "", err: "t: nope\nusage: t [--x]\n" });
  });

  test("--help after -- is an argument, not help", async () => {
    const r = await run((argv) => (parseCli(argv, {}, { positionals: true }).positionals.length === 1 ? 0 : 1), {}, ["--", "--help"]);
    expect(r).toEqual({ code: 0, out: "", err: "" });
  });
});

describe("parseCli", () => {
  const options = { out: { type: "string" }, check: { type: "boolean" } } as const;
  test.each([
    [["--nope"], "unknown option '--nope'"],
    [["-z"], "unknown option '-z'"],
    [["--out"], "--out needs a value"],
    [["--out", "--check"], "--out needs a value"],
    [["--check=yes"], "--check takes no value"],
    [["file"], "unexpected argument 'file'"],
  ])("%j → UsageError %j", (argv, message) => {
    expect(() => parseCli(argv, options)).toThrow(new UsageError(message));
  });

  test("values, --flag=value and positionals when allowed", () => {
    expect(parseCli(["--out=a.json", "--check", "dir"], options, { positionals: true })).toEqual({
      values: { out: "a.json", check: true },
      positionals: ["dir"],
    });
  });

  test("every project error has a stable code and its class name", () => {
    const err = new UsageError("x");
    expect(err).toBeInstanceOf(MaestroError);
    expect([err.code, err.name]).toEqual(["USAGE", "UsageError"]);
  });
});
