// The Rego checker (tools/ci/rego-lint.ts, run by `npm run lint:rego`): the shipped policies are
// clean, and every rule it enforces fails on a planted violation, naming the file and the line.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findOpa } from "../../../tools/ci/policy-build";
import { lintRego, regoLintRules, type RegoFinding } from "../../../tools/ci/rego-lint";
import { describeWithService } from "../../support/services";

const root = join(__dirname, "..", "..", "..");
const opa = findOpa();

// A small policy tree that follows every rule: one rule package, its test, a helper package.
const ruleFile = "maestro/rules/demo/demo.rego";
const testFile = "maestro/rules/demo/demo_test.rego";
const metadata = (id: string) => `# METADATA
# title: Demo item is bad
# custom:
#   id: ${id}
#   severity: high
#   control: demo control
#   fix: Make the item good.
`;
const good: Record<string, string> = {
  [ruleFile]: `# METADATA
# title: Demo rules
package maestro.rules.demo

import data.maestro.lib

${metadata("MAESTRO-DEMO-001")}deny contains v if {
	some item in input.items
	item.kind in {"bad", "worse"}
	v := lib.violation(rego.metadata.rule(), item.name, "is bad")
}
`,
  [testFile]: `package maestro.rules.demo_test

import data.maestro.rules.demo

test_bad_item_is_denied if {
	count(demo.deny) == 1 with input as {"items": [{"name": "x", "kind": "bad"}]}
}
`,
  "maestro/lib/lib.rego": `package maestro.lib

violation(meta, resource, message) := {"rule": meta.custom.id, "resource": resource, "message": message}
`,
  "maestro/lib/lib_test.rego": `package maestro.lib_test

import data.maestro.lib

test_violation_names_the_rule if {
	lib.violation({"custom": {"id": "X"}}, "r", "m").rule == "X"
}
`,
};

let dir: string;
let planted = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "maestro-rego-lint-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a tree below <tmp>/<n>/policies: the good one with some files replaced (null removes one). */
function plant(changes: Record<string, string | null> = {}): string {
  const policies = join(dir, String(planted++), "policies");
  for (const [file, text] of Object.entries({ ...good, ...changes })) {
    if (text === null) continue;
    mkdirSync(dirname(join(policies, file)), { recursive: true });
    writeFileSync(join(policies, file), text);
  }
  return policies;
}

/** The 1-based line of the first line containing `marker`. */
const lineOf = (text: string, marker: string) => text.split("\n").findIndex((l) => l.includes(marker)) + 1;
const at = (file: string, line: number, rule: string, message: string): RegoFinding => ({ file: `policies/${file}`, line, rule, message });
const firstMetadata = lineOf(good[ruleFile], "# title: Demo item") - 1;
const lint = (changes: Record<string, string | null>) => lintRego(plant(changes), opa!);

describeWithService("rego-lint", opa ? undefined : "opa (tools/install/tools.sh opa)", () => {
  test("the shipped policies/ are clean", () => {
    expect(lintRego(join(root, "policies"), opa!)).toEqual([]);
  });

  test("the planted good tree is clean (so each finding below comes from its one planted mistake)", () => {
    expect(lintRego(plant(), opa!)).toEqual([]);
  });

  test("directory-package-mismatch: a package whose directory is not its path, test packages beside theirs", () => {
    const moved = good[ruleFile].replace("package maestro.rules.demo", "package maestro.rules.other");
    expect(lint({ [ruleFile]: moved })).toEqual([
      at(
        ruleFile,
        3,
        "directory-package-mismatch",
        "package maestro.rules.other belongs in policies/maestro/rules/other/, not policies/maestro/rules/demo/",
      ),
    ]);
    // A shorter directory that ends like the package satisfies Regal, but not this checker.
    expect(
      lint({ [ruleFile]: null, [testFile]: null, "rules/demo/demo.rego": good[ruleFile], "rules/demo/demo_test.rego": good[testFile] }),
    ).toEqual([
      at(
        "rules/demo/demo.rego",
        3,
        "directory-package-mismatch",
        "package maestro.rules.demo belongs in policies/maestro/rules/demo/, not policies/rules/demo/",
      ),
      at(
        "rules/demo/demo_test.rego",
        1,
        "directory-package-mismatch",
        "package maestro.rules.demo_test belongs in policies/maestro/rules/demo/, not policies/rules/demo/",
      ),
    ]);
  });

  test(`line-length: ${120} characters pass, 121 fail (counted in characters, a tab is one)`, () => {
    const fits = `# ${"x".repeat(118)}`;
    const tooLong = `\t# ${"é".repeat(118)}`;
    const text = `${good[ruleFile]}\n${fits}\n${tooLong}\n`;
    expect(lint({ [ruleFile]: text })).toEqual([
      at(ruleFile, lineOf(text, "é"), "line-length", "line is 121 characters long (at most 120)"),
    ]);
  });

  test("missing-metadata: a deny body without METADATA, METADATA without a field, an unknown severity", () => {
    const bare = `${good[ruleFile]}\ndeny contains v if {\n\tinput.broken\n\tv := "broken"\n}\n`;
    expect(lint({ [ruleFile]: bare })).toEqual([
      at(
        ruleFile,
        lineOf(bare, "input.broken") - 1,
        "missing-metadata",
        "this deny body has no METADATA (it would report as MAESTRO-METADATA-MISSING)",
      ),
    ]);
    const noFix = good[ruleFile].replace("#   fix: Make the item good.\n", "");
    expect(lint({ [ruleFile]: noFix })).toEqual([
      at(ruleFile, lineOf(noFix, "# title: Demo item") - 1, "missing-metadata", "METADATA of this deny rule lacks fix"),
    ]);
    const typo = good[ruleFile].replace("severity: high", "severity: hihg");
    expect(lint({ [ruleFile]: typo })).toEqual([
      at(ruleFile, lineOf(typo, "# title: Demo item") - 1, "missing-metadata", "severity hihg is not one of critical, high, medium, low"),
    ]);
  });

  test("duplicate-rule-id: the same id's METADATA twice, in one file or across files", () => {
    const twice = `${good[ruleFile]}\n${metadata("MAESTRO-DEMO-001")}deny contains v if {\n\tinput.other\n\tv := "other"\n}\n`;
    const second = lineOf(twice, "input.other") - 8;
    expect(lint({ [ruleFile]: twice })).toEqual([
      at(
        ruleFile,
        second,
        "duplicate-rule-id",
        `MAESTRO-DEMO-001 already has METADATA at policies/${ruleFile}:${firstMetadata}: one METADATA (and one rule body) per id`,
      ),
    ]);
    const elsewhere = `package maestro.rules.more\n\n${metadata("MAESTRO-DEMO-001")}warn contains v if {\n\tinput.other\n\tv := "other"\n}\n`;
    expect(
      lint({ "maestro/rules/more/more.rego": elsewhere, "maestro/rules/more/more_test.rego": "package maestro.rules.more_test\n" }),
    ).toEqual([
      at(
        "maestro/rules/more/more.rego",
        3,
        "duplicate-rule-id",
        `MAESTRO-DEMO-001 already has METADATA at policies/${ruleFile}:${firstMetadata}: one METADATA (and one rule body) per id`,
      ),
    ]);
  });

  test("test-file-missing: a policy file without its _test.rego beside it", () => {
    expect(lint({ [testFile]: null })).toEqual([at(ruleFile, 3, "test-file-missing", "no demo_test.rego beside it")]);
  });

  test("test-outside-test-package: a test_ rule in a policy package or outside a _test.rego file", () => {
    const inPolicy = `${good[ruleFile]}\ntest_in_the_policy if true\n`;
    expect(lint({ [ruleFile]: inPolicy })).toEqual([
      at(
        ruleFile,
        lineOf(inPolicy, "test_in_the_policy"),
        "test-outside-test-package",
        "test test_in_the_policy must live in a _test package in a _test.rego file (package maestro.rules.demo, file demo.rego)",
      ),
    ]);
    const misnamed = "maestro/rules/demo/more_tests.rego";
    expect(lint({ [misnamed]: good[testFile].replace("test_bad_item_is_denied", "test_more") })).toEqual([
      at(
        misnamed,
        lineOf(good[testFile], "test_bad_item_is_denied"),
        "test-outside-test-package",
        "test test_more must live in a _test package in a _test.rego file (package maestro.rules.demo_test, file more_tests.rego)",
      ),
    ]);
  });

  test("rule-name-conftest: a deny_/warn_/violation helper in a rule package, a deny rule outside one", () => {
    const helper = `${good[ruleFile]}\nviolation_names contains item.name if some item in input.items\n`;
    expect(lint({ [ruleFile]: helper })).toEqual([
      at(
        ruleFile,
        lineOf(helper, "violation_names"),
        "rule-name-conftest",
        "conftest reads violation_names as a rule but the gate does not: name it deny or warn, or rename the helper",
      ),
    ]);
    const lib = `${good["maestro/lib/lib.rego"]}\ndeny contains "x" if input.x\n`;
    expect(lint({ "maestro/lib/lib.rego": lib })).toEqual([
      at(
        "maestro/lib/lib.rego",
        lineOf(lib, "deny contains"),
        "rule-name-conftest",
        "a deny rule outside maestro.rules.* is collected by neither the gate nor conftest: move it or rename it",
      ),
    ]);
  });

  test("prefer-snake-case: a camelCase rule and a camelCase variable", () => {
    const camel = `${good[ruleFile]}\nbadItems contains name if {\n\tsome item in input.items\n\titemName := item.name\n\tname := itemName\n}\n`;
    expect(lint({ [ruleFile]: camel })).toEqual([
      at(ruleFile, lineOf(camel, "badItems"), "prefer-snake-case", "rule badItems is not snake_case"),
      at(ruleFile, lineOf(camel, "itemName :="), "prefer-snake-case", "variable itemName is not snake_case"),
      at(ruleFile, lineOf(camel, "name := itemName"), "prefer-snake-case", "variable itemName is not snake_case"),
    ]);
  });

  test('use-in-operator: "x == xs[_]" either way round, not an iteration on both sides', () => {
    const loop = `${good[ruleFile]}\nknown if input.kind == input.kinds[_]\n\nalso_known if input.kinds[_] = input.kind\n\nsame if input.a[_] == input.b[_]\n`;
    expect(lint({ [ruleFile]: loop })).toEqual([
      at(
        ruleFile,
        lineOf(loop, "known if"),
        "use-in-operator",
        'write "input.kind in input.kinds" instead of "input.kind == input.kinds[_]"',
      ),
      at(
        ruleFile,
        lineOf(loop, "also_known"),
        "use-in-operator",
        'write "input.kind in input.kinds" instead of "input.kinds[_] = input.kind"',
      ),
    ]);
  });

  test("every rule the checker names has a test above", () => {
    expect(Object.keys(regoLintRules).sort()).toEqual([
      "directory-package-mismatch",
      "duplicate-rule-id",
      "line-length",
      "missing-metadata",
      "prefer-snake-case",
      "rule-name-conftest",
      "test-file-missing",
      "test-outside-test-package",
      "use-in-operator",
    ]);
  });

  test("the CLI prints file:line: rule: message and exits 1 on a finding, 0 when clean, 2 on bad usage", () => {
    const cli = (args: string[], cwd = root) =>
      spawnSync(process.execPath, ["-r", join(root, "tools", "register.js"), join(root, "tools", "ci", "rego-lint.ts"), ...args], {
        cwd,
        encoding: "utf8",
        timeout: 60_000,
      });
    const bad = plant({ [testFile]: null });
    const failed = cli(["--root", bad], dirname(bad));
    expect([failed.status, failed.stderr]).toEqual([
      1,
      `policies/${ruleFile}:3: test-file-missing: no demo_test.rego beside it\nrego-lint: 1 finding(s)\n`,
    ]);
    const clean = cli([]);
    expect([clean.status, clean.stdout]).toEqual([0, expect.stringMatching(/^rego-lint: \d+ files clean \(9 rules\)\n$/)]);
    expect(cli(["--root", join(dir, "nowhere")]).status).toBe(2);
    const unknown = cli(["--fix"]);
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringContaining("rego-lint: Unknown option '--fix'")]);
  });
});
