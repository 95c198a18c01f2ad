// checkov (PyPI, pinned by tools/install/tools.sh) over the synthesized stacks of both environments:
// every finding is fixed in its stack or waived with a reason in policies/checkov/waivers.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkovReport, defaultCheckov, readWaivers, type Waiver } from "../../tools/ci/checkov-check";
import { describeWithService } from "../support/services";
import { findBinary } from "../../harness/binaries";
import { synthAll } from "../../harness/synth";

const checkov = findBinary("checkov");

describeWithService(
  "checkov over the synthesized stacks: fixed or waived with a reason",
  checkov ? undefined : `checkov (${defaultCheckov})`,
  () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "maestro-checkov-"))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const write = async (env: string) => {
      const out = join(dir, env);
      for (const [stack, json] of Object.entries(await synthAll(env))) {
        mkdirSync(join(out, "stacks", stack), { recursive: true });
        writeFileSync(join(out, "stacks", stack, "cdk.tf.json"), JSON.stringify(json));
      }
      return out;
    };

    test("staging and production: no unwaived finding, and every waiver still matches one", async () => {
      const waivers = readWaivers();
      const used = new Set<Waiver>();
      for (const env of ["staging", "production"]) {
        const report = await checkovReport(await write(env), waivers, checkov);
        expect({ env, failed: report.failed }).toEqual({ env, failed: [] });
        expect(report.passed).toBeGreaterThan(150);
        for (const w of waivers) if (!report.unused.includes(w)) used.add(w);
      }
      expect(waivers.filter((w) => !used.has(w))).toEqual([]);
    }, 120_000);

    test("the findings the DR buckets had are fixed, not waived: replication, key policies, access logs, upload abort", async () => {
      const report = await checkovReport(join(dir, "staging"), readWaivers(), checkov);
      const waivedChecks = new Set(report.waived.map((w) => `${w.check} ${w.resource}`));
      for (const fixed of [
        "CKV_AWS_144 aws_s3_bucket.postgres_bucket",
        "CKV_AWS_144 aws_s3_bucket.audit-bucket_",
        "CKV2_AWS_64",
        "CKV_AWS_300",
      ]) {
        expect([...waivedChecks].filter((w) => w.startsWith(fixed) && !w.includes("access-logs"))).toEqual([]);
      }
      expect(report.failed).toEqual([]);
    }, 120_000);

    test("a waiver without a reason is refused, naming it", () => {
      const bad = join(dir, "bad-waivers.json");
      writeFileSync(bad, JSON.stringify({ waivers: [{ check: "CKV_AWS_18", resources: ".*", reason: "" }] }));
      expect(() => readWaivers(bad)).toThrow(/waivers\[0\]\.reason must be a non-empty string/);
    });
  },
);
