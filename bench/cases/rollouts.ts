import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingBinary } from "../../tools/cluster/control-plane";
import { missingRolloutsController } from "../../tools/cluster/rollouts-controller";
import { measureCommand, ms, type BenchRow, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

// The suite writes each scenario's sequence with its time in the heading: "#### <title> (<s> s)".
const heading = /^#### (.+) \((\d+(?:\.\d+)?) s\)$/gm;

export const suite: BenchSuite = {
  title: "Blue/green under the real Argo Rollouts controller (local control plane)",
  async run() {
    const missing = missingBinary() ?? missingRolloutsController();
    if (missing) throw new Error(`bench rollouts: missing ${missing}`);
    const dir = mkdtempSync(join(tmpdir(), "maestro-bench-rollouts-"));
    const out = join(dir, "sequences.md");
    const run = measureCommand("npm", ["run", "-s", "test:jest", "--", "__tests__/tools/cluster/real-controller.test.ts"], {
      runs: 1,
      cwd: root,
      env: { ROLLOUT_SEQUENCES_OUT: out },
    });
    const text = readFileSync(out, "utf8");
    rmSync(dir, { recursive: true, force: true });
    const rows: BenchRow[] = [...text.matchAll(heading)].map(([, title, seconds]) => ({
      name: `scenario ${title}`,
      subject: "new revision applied → the controller's end state (Rollout status, active Service selector)",
      value: `${Number(seconds).toFixed(1)} s`,
      target: "≤ 90 s",
      met: Number(seconds) <= 90,
    }));
    if (rows.length !== 4) throw new Error(`bench rollouts: expected 4 scenario times in the suite's sequences, got ${rows.length}`);
    rows.push({
      name: "the whole suite (control plane, controller, Prometheus, first revision, 4 scenarios, bad input)",
      subject: "jest __tests__/tools/cluster/real-controller.test.ts",
      value: ms(run.medianMs),
    });
    return rows;
  },
};
