// "Works on this repo's own history": two real commits are exported and synthesized, then diffed.
// 53f53dc added the Object Lock bucket to the audit stack; its parent had an empty audit stack.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { run } from "../../../../tools/ci/synth-diff/main";
import type { SynthDiff } from "../../../../tools/ci/synth-diff/model";
import { describeWithService } from "../../../support/services";

const root = join(__dirname, "..", "..", "..", "..");
const commit = "53f53dc8605a63ffc4530f279ed4549915cba498";
const present = spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: root }).status === 0;

describeWithService(
  "synth diff between two commits of this repository",
  present ? undefined : `commit ${commit.slice(0, 7)} (a full clone)`,
  () => {
    test("the commit that added the audit bucket shows exactly that, Object Lock flagged", async () => {
      const r = await run(["--git", `${commit}~1`, commit, "--env", "staging", "--format", "json", "--policy", "off"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const diff = JSON.parse(r.stdout) as SynthDiff;
      expect(diff.stacks.filter((s) => s.status !== "unchanged").map((s) => s.stack)).toEqual(["audit"]);
      const audit = diff.stacks.find((s) => s.stack === "audit")!;
      const lock = audit.resources.find((r) => r.address.startsWith("aws_s3_bucket_object_lock_configuration."))!;
      expect(lock).toMatchObject({ action: "added", security: ["object-lock", "retention"] });
      expect(lock.fields).toEqual(
        expect.arrayContaining([
          { path: "rule.default_retention.mode", action: "added", new: "COMPLIANCE", security: ["object-lock", "retention"] },
          { path: "object_lock_enabled", action: "added", new: "Enabled", security: ["object-lock"] },
        ]),
      );
      const bucket = audit.resources.find((r) => r.address.startsWith("aws_s3_bucket.audit-bucket"))!;
      expect(bucket).toMatchObject({ action: "added", label: "maestro-staging-audit", security: ["object-lock"] });
      expect(diff.summary.resources).toEqual({ added: 25, removed: 0, changed: 1 });
    }, 90000);

    test("a ref that does not exist exits 2 naming it", async () => {
      const r = await run(["--git", "no-such-ref-xyz", commit]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("no-such-ref-xyz");
    });
  },
);
