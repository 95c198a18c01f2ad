import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../../lib/cli";
import { repoRoot } from "./policy";

export interface CommitSynth {
  /** The full commit id the ref resolved to. */
  commit: string;
  /** cdktf.out of that commit. */
  outdir: string;
}

function git(args: string[], root: string): string {
  const run = spawnSync("git", args, { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new UsageError(`git ${args.join(" ")}: ${(run.stderr || run.stdout).trim()}`);
  return run.stdout.trim();
}

/**
 * Synthesizes the stacks as they were at one commit: its tracked files are exported with `git archive`
 * into `workdir` (no worktree or index is touched, so a shared checkout is left alone), this
 * checkout's node_modules is linked in, and that commit's own main.ts runs.
 */
export function synthCommit(ref: string, workdir: string, env?: string, root = repoRoot): CommitSynth {
  const commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], root);
  mkdirSync(workdir, { recursive: true });
  const archive = spawnSync("sh", ["-c", 'git archive --format=tar "$1" | tar -x -C "$2"', "sh", commit, workdir], {
    cwd: root,
    encoding: "utf8",
  });
  if (archive.status !== 0) throw new UsageError(`cannot export ${ref} (${commit}): ${archive.stderr.trim()}`);
  for (const shared of ["node_modules", ".tools"]) {
    if (existsSync(join(root, shared)) && !existsSync(join(workdir, shared))) symlinkSync(join(root, shared), join(workdir, shared), "dir");
  }
  const outdir = join(workdir, "cdktf.out");
  const run = spawnSync(process.execPath, ["-r", join(__dirname, "..", "..", "register.js"), "main.ts", ...(env ? ["--env", env] : [])], {
    cwd: workdir,
    encoding: "utf8",
    env: { ...process.env, CDKTF_OUTDIR: outdir, MAESTRO_ENV: env ?? process.env.MAESTRO_ENV ?? "" },
    maxBuffer: 64 * 1024 * 1024,
  });
  // A commit whose policy gate denies still writes its stacks; the diff then shows why. No stacks: a real failure.
  if (!existsSync(join(outdir, "stacks"))) {
    throw new UsageError(
      `synth of ${ref} (${commit.slice(0, 12)}) failed with exit ${String(run.status)}: ${(run.stderr || run.stdout).trim().split("\n").slice(-8).join("\n")}`,
    );
  }
  return { commit, outdir };
}
