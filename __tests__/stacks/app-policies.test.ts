// The policy issue's rules hold on the app stack as synthesized (shipped wasm bundle, the same
// gate synth and CI run), and the rollout rules do fire when the gate is taken away.
import { loadEnvironment } from "../../config/load";
import { loadShippedBundle, type PolicyBundle } from "../../policy-engine/bundle";
import { runGate } from "../../policy-engine/gate";
import { policyParameters, type TerraformJson } from "../../policy-engine/input";
import { synthAll } from "../../harness/synth";

let bundle: PolicyBundle;
beforeAll(async () => {
  bundle = await loadShippedBundle();
});

test.each(["staging", "production"])("%s: no policy denies or warns on the app stack", async (env) => {
  const { app } = await synthAll(env);
  const report = runGate(bundle, [["app", app as TerraformJson]], policyParameters(loadEnvironment(env)));
  expect(report.violations).toEqual([]);
  expect(report.warnings).toEqual([]);
  // The rollout and workload rules were evaluated, not skipped.
  const ruleIds = report.rules.map((r) => r.id);
  expect(ruleIds).toEqual(expect.arrayContaining(["MAESTRO-ROLLOUT-002", "MAESTRO-ROLLOUT-003", "MAESTRO-K8S-001", "MAESTRO-K8S-002"]));
});

test("a Rollout without its pre-promotion analysis is denied (MAESTRO-ROLLOUT-003)", async () => {
  const app = structuredClone((await synthAll("staging")).app) as TerraformJson;
  const manifests = app.resource!.kubernetes_manifest as Record<
    string,
    { manifest: { kind: string; spec: { strategy: { blueGreen: Record<string, unknown> } } } }
  >;
  const rollout = Object.values(manifests).find((r) => r.manifest.kind === "Rollout")!;
  delete rollout.manifest.spec.strategy.blueGreen.prePromotionAnalysis;
  const report = runGate(bundle, [["app", app]], policyParameters(loadEnvironment("staging")));
  expect(report.violations.map((v) => v.rule)).toEqual(["MAESTRO-ROLLOUT-003"]);
});
