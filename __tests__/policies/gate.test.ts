// The gate over the real stacks: they pass, and for every rule a mutated copy of the real synth
// output that breaks just that rule is caught, naming that rule.
import type { Violation } from "../../contracts/violation";
import { loadShippedBundle, type PolicyBundle } from "../../policy-engine/bundle";
import { runGate } from "../../policy-engine/gate";
import { policyParameters, type TerraformJson } from "../../policy-engine/input";
import { loadEnvironment } from "../../config/load";
import { stackIds, type StackId } from "../../stacks";
import { synthAll } from "../../harness/synth";
import { first, mutations, resources } from "./mutations";

type Stacks = Record<StackId, TerraformJson>;

let bundle: PolicyBundle;
const real: Record<string, Stacks> = {};

beforeAll(async () => {
  bundle = await loadShippedBundle();
  real.staging = (await synthAll("staging")) as Stacks;
  real.production = (await synthAll("production")) as Stacks;
});

function gate(env: "staging" | "production", stacks: Stacks) {
  return runGate(
    bundle,
    stackIds.map((id) => [id, stacks[id]]),
    policyParameters(loadEnvironment(env)),
  );
}

const key = (v: Violation) => `${v.rule} ${v.stack} ${v.resource} ${v.message}`;

describe.each(["staging", "production"] as const)("the real %s stacks", (env) => {
  test("pass every policy (no deny)", () => {
    const report = gate(env, real[env]);
    expect(report.violations.map(key)).toEqual([]);
    expect(report.passed).toBe(stackIds.length * bundle.catalog.filter((r) => r.kind === "deny").length);
  });
});

test("every deny rule of the bundle has a mutation test", () => {
  const denyRules = bundle.catalog.filter((r) => r.kind === "deny").map((r) => r.id);
  expect(mutations.map((m) => m.rule).sort()).toEqual([...denyRules].sort());
});

describe.each(mutations.map((m) => [m.rule, m.how, m.what, m] as const))(
  "%s: the real staging output %s %s",
  (rule, _how, _what, mutation) => {
    test(`is caught, naming ${rule} and no other rule`, () => {
      const before = new Set(gate("staging", real.staging).violations.map(key));
      const mutated = JSON.parse(JSON.stringify(real.staging)) as Stacks;
      mutation.apply(mutated[mutation.stack], "staging");
      const added = gate("staging", mutated).violations.filter((v) => !before.has(key(v)));
      expect(added.length).toBeGreaterThan(0);
      expect([...new Set(added.map((v) => v.rule))]).toEqual([rule]);
      expect(added.every((v) => v.stack === mutation.stack && v.fix.length > 0)).toBe(true);
    });
  },
);

test("the unreadable-policy warning names the resource", () => {
  const mutated = JSON.parse(JSON.stringify(real.staging)) as Stacks;
  const policy = first(Object.values(resources(mutated.audit).aws_iam_role_policy ?? {}), "aws_iam_role_policy");
  policy.policy = "${jsonencode(local.policy)}";
  const warnings = gate("staging", mutated).warnings;
  expect(warnings.map((w) => w.rule)).toEqual(["MAESTRO-IAM-W01"]);
});
