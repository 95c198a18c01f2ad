import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadUnsignedBundle, shippedBundlePath } from "../../policy-engine/bundle";
import { normalizeStack, policyParameters, type TerraformJson } from "../../policy-engine/input";
import { signBundle } from "../../policy-engine/sign";
import { policiesDir, rulePackages } from "../../policy-engine/rego-packages";
import { verifyBundle } from "../../policy-engine/verify";
import { checkovReport, readWaivers } from "../../tools/ci/checkov-check";
import { loadEnvironment } from "../../config/load";
import { stackIds } from "../../stacks";
import { findBinary } from "../../harness/binaries";
import { synthAll } from "../../harness/synth";
import { measureAsync, measureCommand, ms, ratio, type BenchSuite } from "../harness";

const root = join(__dirname, "..", "..");

export const suite: BenchSuite = {
  title: "Policy gate (all policies × six stacks, staging)",
  async run() {
    const stacks = await synthAll("staging");
    const parameters = policyParameters(loadEnvironment("staging"));
    const inputs = stackIds.map((id) => normalizeStack(id, stacks[id] as TerraformJson, parameters));
    const archive = readFileSync(shippedBundlePath);

    const load = await measureAsync(() => loadUnsignedBundle(archive), { runs: 10, warmup: 2 });
    const bundle = await loadUnsignedBundle(archive);
    const wasm = await measureAsync(async () => inputs.forEach((input) => bundle.evaluate(input)), { runs: 30, warmup: 5 });

    const keys = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const signed = await signBundle(archive, { privateKey: keys.privateKey, algorithm: "ES256" });
    const verify = await measureAsync(() => verifyBundle(signed, { keys: { default: { key: keys.publicKey, algorithm: "ES256" } } }), {
      runs: 20,
    });

    const opa = findBinary("opa");
    if (!opa) throw new Error("bench policy: opa not found (tools/install/tools.sh opa)");
    const dir = mkdtempSync(join(tmpdir(), "maestro-bench-policy-"));
    try {
      const files = inputs.map((input) => {
        const file = join(dir, `${input.stack}.json`);
        writeFileSync(file, JSON.stringify(input));
        return file;
      });
      // The same inputs through the opa CLI: one `opa eval` per stack over the Rego sources.
      const script = files
        .map(
          (f) =>
            `"${opa}" eval --ignore dist --ignore '*_test.rego' -d policies -i "${f}" --format raw 'data.maestro.gate.result' >/dev/null`,
        )
        .join(" && ");
      const cli = measureCommand("bash", ["-c", script], { runs: 5, cwd: root });
      // conftest over the same inputs with our Rego (its namespaces: the rule packages), as the
      // conftest suite runs it (__tests__/policies/conftest.test.ts).
      const conftest = findBinary("conftest");
      if (!conftest) throw new Error("bench policy: conftest not found (tools/install/tools.sh conftest)");
      const namespaces = rulePackages().flatMap((p) => ["--namespace", p]);
      const conftestRun = measureCommand(conftest, ["test", "--policy", policiesDir, ...namespaces, "--output", "json", ...files], {
        runs: 5,
        cwd: root,
      });
      // The project's gate as CI runs it, over the synth output those inputs came from.
      for (const id of stackIds) {
        mkdirSync(join(dir, "out", "stacks", id), { recursive: true });
        writeFileSync(join(dir, "out", "stacks", id, "cdk.tf.json"), JSON.stringify(stacks[id]));
      }
      const checkArgs = ["-r", "./tools/register.js", "tools/ci/policy-check.ts", join(dir, "out"), "--format", "json"];
      const gateNode = measureCommand(process.execPath, checkArgs, { runs: 5, cwd: root });
      const gateNpm = measureCommand("npm", ["run", "-s", "policy:check", "--", join(dir, "out"), "--format", "json"], {
        runs: 5,
        cwd: root,
      });
      // checkov with its own checks over the same synth output (npm run checkov:check's invocation).
      const checkov = findBinary("checkov");
      if (!checkov) throw new Error("bench policy: checkov not found (tools/install/tools.sh checkov)");
      const waivers = readWaivers();
      const checkovRun = await measureAsync(() => checkovReport(join(dir, "out"), waivers, checkov), { runs: 1, warmup: 0 });
      return [
        {
          name: "evaluate all policies over all six stacks (after load)",
          subject: "wasm bundle in-process (@open-policy-agent/opa-wasm)",
          value: ms(wasm.medianMs),
          baseline: "opa eval over the same six input JSON files",
          baselineValue: ms(cli.medianMs),
          ratio: ratio(wasm.medianMs, cli.medianMs),
          target: "≤ 100 ms",
          met: wasm.medianMs <= 100,
        },
        {
          name: "policy gate CLI over the six stacks (process start, load, evaluate, report)",
          subject: "npm run -s policy:check -- <synth dir> --format json",
          value: ms(gateNpm.medianMs),
          baseline: "opa eval over the same six stacks (as above)",
          baselineValue: ms(cli.medianMs),
          ratio: ratio(gateNpm.medianMs, cli.medianMs),
        },
        {
          name: "policy gate CLI without npm's start",
          subject: "node -r ./tools/register.js tools/ci/policy-check.ts",
          value: ms(gateNode.medianMs),
          baseline: "opa eval over the same six stacks (as above)",
          baselineValue: ms(cli.medianMs),
          ratio: ratio(gateNode.medianMs, cli.medianMs),
        },
        {
          name: "conftest over the six stacks (our Rego, every rule package)",
          subject: "conftest test --policy policies --namespace maestro.rules.* (v0.71, Go proxy)",
          value: ms(conftestRun.medianMs),
          baseline: "opa eval over the same six stacks (as above)",
          baselineValue: ms(cli.medianMs),
          ratio: ratio(conftestRun.medianMs, cli.medianMs),
        },
        {
          name: "checkov over the six stacks (its own checks, terraform_json)",
          subject: "checkov -d <synth dir>/stacks --framework terraform_json (npm run checkov:check)",
          value: ms(checkovRun.medianMs),
          baseline: "npm run -s policy:check over the same synth output",
          baselineValue: ms(gateNpm.medianMs),
          ratio: ratio(checkovRun.medianMs, gateNpm.medianMs),
        },
        {
          name: "evaluate, p99 of 30 runs",
          subject: "wasm bundle in-process",
          value: ms(wasm.p99Ms),
          baseline: "median of the same runs",
          baselineValue: ms(wasm.medianMs),
          ratio: ratio(wasm.p99Ms, wasm.medianMs),
        },
        {
          name: "load the shipped bundle (gunzip, tar, wasm compile)",
          subject: "loadUnsignedBundle",
          value: ms(load.medianMs),
          baseline: "one evaluation of all six stacks",
          baselineValue: ms(wasm.medianMs),
          ratio: ratio(load.medianMs, wasm.medianMs),
        },
        {
          name: "verify a signed bundle (ES256, every file hashed)",
          subject: "verifyBundle",
          value: ms(verify.medianMs),
          baseline: "bundle load",
          baselineValue: ms(load.medianMs),
          ratio: ratio(verify.medianMs, load.medianMs),
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
