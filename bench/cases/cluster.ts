import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingBinary, startControlPlane } from "../../tools/cluster/control-plane";
import { measureCommand, ms, median, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

// Cold builds cannot be re-run per bench (they need empty Go caches, shared by the machine): this
// is the one measured in a cold `.ci/run` on this machine (docs/cluster.md#tool-builds).
const recordedCold = "cold, in a cold .ci/run on 2026-12-01 (empty Go caches, load 4-6; docs/cluster.md)";

export const suite: BenchSuite = {
  title: "Local control plane (tools/cluster)",
  async run() {
    const missing = missingBinary();
    if (missing) throw new Error(`bench cluster: missing ${missing}`);

    const starts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), "maestro-bench-cluster-"));
      const started = performance.now();
      const cluster = await startControlPlane({ dir, timeoutMs: 120_000 });
      starts.push(performance.now() - started);
      await cluster.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
    const start = median(starts);

    const suiteRun = measureCommand("npm", ["run", "-s", "test:jest", "--", "__tests__/tools/cluster/control-plane.test.ts"], {
      runs: 1,
      cwd: root,
    });

    // A warm rebuild: the same tools.sh, into an empty folder, with the Go caches filled.
    const bin = mkdtempSync(join(tmpdir(), "maestro-bench-tools-"));
    const build = measureCommand("bash", ["tools/install/tools.sh", "cluster"], { runs: 1, cwd: root, env: { TOOLS_BIN: bin } });
    rmSync(bin, { recursive: true, force: true });

    return [
      {
        name: "cluster start to ready (etcd, apiserver, controllers, kwok node Ready)",
        subject: "startControlPlane, fresh state folder (median of 3)",
        value: ms(start),
        target: "≤ 10 s warm",
        met: start <= 10_000,
      },
      {
        name: "cluster suite (start, CRDs, every object of 6 stacks, Helm dry runs, 602 duty-matrix cells, planted drift)",
        subject: "jest __tests__/tools/cluster/control-plane.test.ts",
        value: ms(suiteRun.medianMs),
        target: "≤ 5 min warm",
        met: suiteRun.medianMs <= 300_000,
      },
      {
        name: "tool build: etcd, kube-* + kubectl, kwok, helm",
        subject: "tools/install/tools.sh cluster into an empty folder, Go caches warm",
        value: ms(build.medianMs),
        baseline: recordedCold,
        baselineValue: "14 min 53 s",
        target: "warm ≤ 90 s",
        met: build.medianMs <= 90_000,
      },
    ];
  },
};
