// The "conftest-style" claim, proven with the real conftest: `conftest test` with our own Rego
// sources over the same policy inputs gives exactly the wasm gate's verdicts, on the real stacks
// (staging and production) and on every deny rule's mutation.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadShippedBundle, type PolicyBundle } from "../../policy-engine/bundle";
import { normalizeStack, policyParameters, type TerraformJson } from "../../policy-engine/input";
import { loadEnvironment } from "../../config/load";
import { stackIds, type StackId } from "../../stacks";
import { describeWithService } from "../support/services";
import { findBinary } from "../../harness/binaries";
import { synthAll } from "../../harness/synth";
import { mutations } from "./mutations";
import { policiesDir, rulePackages } from "../../policy-engine/rego-packages";

const conftest = findBinary("conftest");
const packages = rulePackages();

interface ConftestResult {
  filename: string;
  failures?: Array<{ msg: string }>;
  warnings?: Array<{ msg: string }>;
}

describeWithService("real conftest over the synth output", conftest ? undefined : "conftest (tools/install/tools.sh conftest)", () => {
  let bundle: PolicyBundle;
  const scenarios: Array<{ name: string; env: "staging" | "production"; stacks: Record<StackId, TerraformJson> }> = [];

  beforeAll(async () => {
    bundle = await loadShippedBundle();
    for (const env of ["staging", "production"] as const)
      scenarios.push({ name: `real-${env}`, env, stacks: (await synthAll(env)) as Record<StackId, TerraformJson> });
    const staging = scenarios[0].stacks;
    for (const m of mutations) {
      const stacks = JSON.parse(JSON.stringify(staging)) as Record<StackId, TerraformJson>;
      m.apply(stacks[m.stack], "staging");
      scenarios.push({ name: `mutation-${m.rule}`, env: "staging", stacks });
    }
  });

  test("gives the wasm gate's deny and warn verdicts, message for message, on every stack of every scenario", () => {
    expect(packages.length).toBeGreaterThanOrEqual(6);
    const dir = mkdtempSync(join(tmpdir(), "maestro-conftest-"));
    const expected = new Map<string, { deny: string[]; warn: string[] }>();
    for (const s of scenarios) {
      const parameters = policyParameters(loadEnvironment(s.env));
      for (const id of stackIds) {
        const input = normalizeStack(id, s.stacks[id], parameters);
        const file = join(dir, `${s.name}--${id}.json`);
        writeFileSync(file, JSON.stringify(input));
        const result = bundle.evaluate(input);
        expected.set(file, { deny: result.deny.map((v) => v.msg).sort(), warn: result.warn.map((v) => v.msg).sort() });
      }
    }
    const files = [...expected.keys()];
    const run = spawnSync(
      conftest!,
      ["test", "--policy", policiesDir, ...packages.flatMap((p) => ["--namespace", p]), "--output", "json", ...files],
      {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    );
    // Exit 1 means failures were found (the mutations); anything else is conftest itself failing.
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: "" });
    const byFile = new Map<string, { deny: string[]; warn: string[] }>();
    for (const r of JSON.parse(run.stdout) as ConftestResult[]) {
      const entry = byFile.get(r.filename) ?? { deny: [], warn: [] };
      entry.deny.push(...(r.failures ?? []).map((f) => f.msg));
      entry.warn.push(...(r.warnings ?? []).map((f) => f.msg));
      byFile.set(r.filename, entry);
    }
    const got = new Map([...byFile].map(([f, v]) => [f, { deny: v.deny.sort(), warn: v.warn.sort() }]));
    const differences = files.filter((f) => JSON.stringify(got.get(f)) !== JSON.stringify(expected.get(f)));
    expect(differences.map((f) => ({ file: f, conftest: got.get(f), gate: expected.get(f) }))).toEqual([]);
    const denies = [...expected.values()].reduce((n, v) => n + v.deny.length, 0);
    console.log(
      `conftest: ${files.length} inputs (${scenarios.length} scenarios × ${stackIds.length} stacks), ${denies} denies, same verdicts as the wasm gate`,
    );
    // Every mutation is a deny somewhere: the comparison is not of empty lists.
    expect(denies).toBeGreaterThanOrEqual(mutations.length);
  });
});
