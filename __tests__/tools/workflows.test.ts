import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

// The workflows as GitHub reads them: which actions they run, with what token, on whose code.

const root = join(__dirname, "../..");
const dir = join(root, ".github/workflows");
type Step = { name?: string; run?: string; uses?: string; if?: string; with?: Record<string, string> };
type Job = { permissions?: Record<string, string>; steps: Step[]; env?: Record<string, string> };
type Workflow = { on: unknown; permissions?: Record<string, string>; jobs: Record<string, Job> };
const files = readdirSync(dir).filter((f) => f.endsWith(".yml"));
const workflows = files.map((f) => ({
  file: f,
  text: readFileSync(join(dir, f), "utf8"),
  doc: parse(readFileSync(join(dir, f), "utf8")) as Workflow,
}));
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

/** GitHub's own actions (actions/*, github/*) may stay on a major tag; everything else is pinned. */
const firstParty = /^(actions|github)\//;

test("there are workflows to check", () => {
  expect(files.length).toBeGreaterThanOrEqual(6);
});

test.each(workflows.map((w) => [w.file, w]))("%s: every third-party action is pinned by a full commit SHA with its version", (_f, w) => {
  for (const step of steps(w.doc)) {
    if (!step.uses || step.uses.startsWith("./") || firstParty.test(step.uses)) continue;
    expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    // The version the SHA stands for is written beside it, for the reviewer and for Dependabot.
    const line = w.text.split("\n").find((l) => l.includes(step.uses!));
    expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  }
});

test.each(workflows.map((w) => [w.file, w]))(
  "%s: no pull_request_target, and no event or input text pasted into a run: script",
  (_f, w) => {
    expect(JSON.stringify(w.doc.on)).not.toContain("pull_request_target");
    for (const step of steps(w.doc)) if (step.run) expect(step.run).not.toMatch(/\$\{\{\s*(github\.event\.|inputs\.|github\.head_ref)/);
  },
);

test("pr.yml: the comment is not attempted on a fork's read-only token, a refused post does not fail the check, the summary always has the report", () => {
  const w = workflows.find((x) => x.file === "pr.yml")!.doc;
  const all = steps(w);
  const comment = all.find((s) => s.uses?.startsWith("actions/github-script"))!;
  expect(comment.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
  expect(comment.with?.script).toMatch(/catch \(err\) \{\s*if \(err\.status !== 403\) throw err;/);
  const summary = all.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))!;
  expect(summary.if).toBe("always() && hashFiles('pr-report/comment.md') != ''");
  expect(w.permissions).toEqual({ contents: "read", "pull-requests": "write" });
});

test("drill-restore.yml installs WAL-G only through install-walg.sh (digest checked), never curl | sudo tar", () => {
  const w = workflows.find((x) => x.file === "drill-restore.yml")!.doc;
  const install = steps(w).find((s) => s.run?.includes("wal-g"))!;
  expect(install.run).toContain("bash tools/db/install-walg.sh /usr/local/bin");
  expect(install.run).not.toMatch(/curl|sudo tar|wal-g\/releases/);
});

describe("tools/db/install-walg.sh", () => {
  let work: string;
  const asset = "wal-g-pg-ubuntu-22.04-amd64.tar.gz";
  let digest: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "maestro-walg-install-"));
    // A stand-in release laid out as GitHub serves it: <base>/<version>/<asset>.
    mkdirSync(join(work, "release", "v3.0.9"), { recursive: true });
    mkdirSync(join(work, "payload"));
    writeFileSync(join(work, "payload", "wal-g-pg-ubuntu-22.04-amd64"), "#!/bin/sh\necho 'wal-g v3.0.9 (stand-in)'\n", { mode: 0o755 });
    const tar = spawnSync("tar", [
      "-czf",
      join(work, "release", "v3.0.9", asset),
      "-C",
      join(work, "payload"),
      "wal-g-pg-ubuntu-22.04-amd64",
    ]);
    expect(tar.status).toBe(0);
    digest = createHash("sha256")
      .update(readFileSync(join(work, "release", "v3.0.9", asset)))
      .digest("hex");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const pin = (sha256: string) => {
    const file = join(work, `pin-${sha256.slice(0, 8) || "empty"}`);
    writeFileSync(file, `version=v3.0.9\nasset=${asset}\nbinary=wal-g-pg-ubuntu-22.04-amd64\nsha256=${sha256}\n`);
    return file;
  };
  const install = (pinFile: string | undefined, dest: string) =>
    spawnSync("bash", [join(root, "tools/db/install-walg.sh"), dest, ...(pinFile ? ["--pin", pinFile] : [])], {
      encoding: "utf8",
      env: { ...process.env, WALG_DOWNLOAD_BASE: `file://${join(work, "release")}` },
    });

  test("with the digest pinned, it downloads, checks and installs the binary", () => {
    const dest = mkdtempSync(join(work, "bin-"));
    const r = install(pin(digest), dest);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`sha256 ${digest}`);
    expect(spawnSync(join(dest, "wal-g"), { encoding: "utf8" }).stdout).toContain("wal-g v3.0.9");
  });

  test("a download whose digest differs from the pin is not installed (exit 1)", () => {
    const dest = mkdtempSync(join(work, "bin-"));
    const r = install(pin("0".repeat(64)), dest);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`has SHA-256 ${digest}, the pin says ${"0".repeat(64)}: not installed`);
    expect(existsSync(join(dest, "wal-g"))).toBe(false);
  });

  test("the repository's pin has no digest yet, so it refuses to install anything (exit 2)", () => {
    const dest = mkdtempSync(join(work, "bin-"));
    const r = install(undefined, dest);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/wal-g\.pin: sha256 must be the asset's 64-digit lower-case SHA-256 \(got ''\); refusing to install/);
    expect(existsSync(join(dest, "wal-g"))).toBe(false);
  });
});
