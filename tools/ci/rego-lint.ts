// `tools/ci/rego-lint.ts [--root DIR]` (run by `npm run lint:rego` after opa fmt and opa check): the
// Regal rules that matter here, since Regal itself cannot be installed on this machine, plus the
// project's own contracts between the Rego sources, the wasm gate, the catalog and conftest.
// It reads the AST from the pinned `opa parse`. Each finding is `file:line: rule: message`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { findOpa, ruleMetadataFields } from "./policy-build";

export const maxLineLength = 120;
/** The severities the reports know (SARIF maps critical/high to error, medium to warning, low to note). */
export const ruleSeverities = ["critical", "high", "medium", "low"];
/** The package whose sub-packages hold the rules the gate collects (`data.maestro.rules[_].deny`). */
const rulesPackage = "maestro.rules";

export interface RegoFinding {
  /** Path relative to the linted root's parent (e.g. `policies/maestro/rules/s3/s3.rego`). */
  file: string;
  line: number;
  rule: string;
  message: string;
}

/** The rules this checker enforces, with what each is for (also the usage text). */
export const regoLintRules: Record<string, string> = {
  "directory-package-mismatch": "a file's directory below the root is its package (a `_test` package beside the one it tests)",
  "line-length": `no line longer than ${maxLineLength} characters`,
  "missing-metadata": `every deny/warn rule has METADATA with ${ruleMetadataFields.join(", ")} and a known severity`,
  "duplicate-rule-id": "one METADATA per rule id",
  "test-file-missing": "every policy file X.rego has X_test.rego beside it",
  "test-outside-test-package": "test_ rules live in _test packages, in _test.rego files",
  "rule-name-conftest": `deny and warn rules live in ${rulesPackage}.* packages, and no other rule there starts with deny, warn or violation`,
  "prefer-snake-case": "rule, function and variable names are snake_case",
  "use-in-operator": 'membership is "x in xs", not "x == xs[_]"',
};

interface Location {
  row: number;
  text?: string;
}
interface Term {
  type: string;
  value: unknown;
  location?: Location;
}
interface Annotation {
  scope?: string;
  title?: string;
  custom?: Record<string, unknown>;
  location?: Location;
}
interface Rule {
  head: { name?: string; ref?: Term[]; location?: Location };
  annotations?: Annotation[];
  location?: Location;
}
interface Module {
  package: { path: Term[]; location?: Location };
  annotations?: Annotation[];
  rules?: Rule[];
}

function regoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "dist") out.push(...regoFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".rego")) out.push(path);
  }
  return out.sort();
}

function parse(opa: string, file: string): Module {
  const r = spawnSync(opa, ["parse", "--format", "json", "--json-include", "locations,-comments", file], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`opa parse ${file} failed:\n${r.stderr || r.stdout}`);
  return JSON.parse(r.stdout) as Module;
}

const sourceText = (t: { location?: Location }) => Buffer.from(t.location?.text ?? "", "base64").toString("utf8");
const isWildcard = (t: Term | undefined) => t?.type === "var" && String(t.value).startsWith("$") && sourceText(t) === "_";
const ruleName = (rule: Rule) => rule.head.name ?? String(rule.head.ref?.[0]?.value ?? "");
const snakeCase = /^[a-z][a-z0-9_]*$/;

/** Every object of the AST below `node` (terms, expressions, rule parts). */
function* walk(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) for (const item of node) yield* walk(item);
  else if (node && typeof node === "object") {
    yield node as Record<string, unknown>;
    for (const value of Object.values(node)) yield* walk(value);
  }
}

/** Lints every .rego file below `root` (dist/ aside); returns the findings in file and line order. */
export function lintRego(root: string, opa: string): RegoFinding[] {
  const findings: RegoFinding[] = [];
  const base = dirname(resolve(root));
  const seenIds = new Map<string, string>();
  for (const path of regoFiles(root)) {
    const file = relative(base, path);
    const add = (line: number | undefined, rule: string, message: string) => findings.push({ file, line: line ?? 1, rule, message });
    const source = readFileSync(path, "utf8");
    const module = parse(opa, path);
    const packagePath = module.package.path.slice(1).map((t) => String(t.value));
    const pkg = packagePath.join(".");
    const isTestFile = path.endsWith("_test.rego");
    const isTestPackage = pkg.endsWith("_test");
    const packageLine = module.package.location?.row;

    // directory-package-mismatch: exactly the package path below the root (Regal asks for a suffix).
    const expected = [...packagePath.slice(0, -1), packagePath[packagePath.length - 1].replace(/_test$/, "")];
    const actual = relative(resolve(root), dirname(path)).split(sep).filter(Boolean);
    if (actual.join("/") !== expected.join("/"))
      add(
        packageLine,
        "directory-package-mismatch",
        `package ${pkg} belongs in ${join(basename(root), ...expected)}/, not ${join(basename(root), ...actual)}/`,
      );

    source.split("\n").forEach((line, i) => {
      const length = [...line].length;
      if (length > maxLineLength) add(i + 1, "line-length", `line is ${length} characters long (at most ${maxLineLength})`);
    });

    if (!isTestFile && !isTestPackage && !existsSync(path.replace(/\.rego$/, "_test.rego")))
      add(packageLine, "test-file-missing", `no ${basename(path).replace(/\.rego$/, "_test.rego")} beside it`);

    // module.annotations holds every METADATA block of the file (package and rule scope).
    for (const a of module.annotations ?? []) {
      const id = a.custom?.id;
      if (typeof id !== "string") continue;
      const where = `${file}:${a.location?.row ?? 1}`;
      const first = seenIds.get(id);
      if (first === undefined) seenIds.set(id, where);
      else add(a.location?.row, "duplicate-rule-id", `${id} already has METADATA at ${first}: one METADATA (and one rule body) per id`);
    }

    for (const rule of module.rules ?? []) {
      const name = ruleName(rule);
      const line = rule.head.location?.row ?? rule.location?.row;
      if (name.startsWith("test_") && !(isTestPackage && isTestFile))
        add(
          line,
          "test-outside-test-package",
          `test ${name} must live in a _test package in a _test.rego file (package ${pkg}, file ${basename(path)})`,
        );
      // conftest queries the rule packages (one --namespace each) for deny*, warn* and violation*
      // rules; the gate collects only deny and warn of those packages.
      const isRulePackage = pkg.startsWith(`${rulesPackage}.`) && !isTestPackage;
      const isGateRule = name === "deny" || name === "warn";
      if (isRulePackage && /^(deny|warn|violation)(_|$)/.test(name) && !isGateRule)
        add(
          line,
          "rule-name-conftest",
          `conftest reads ${name} as a rule but the gate does not: name it deny or warn, or rename the helper`,
        );
      if (!isRulePackage && !isTestPackage && isGateRule)
        add(
          line,
          "rule-name-conftest",
          `a ${name} rule outside ${rulesPackage}.* is collected by neither the gate nor conftest: move it or rename it`,
        );
      if (isRulePackage && isGateRule) {
        const meta = (rule.annotations ?? []).find((a) => a.scope === "rule");
        if (!meta) add(line, "missing-metadata", `this ${name} body has no METADATA (it would report as MAESTRO-METADATA-MISSING)`);
        else {
          const values: Record<string, unknown> = { ...meta.custom, title: meta.title };
          const missing = ruleMetadataFields.filter((f) => typeof values[f] !== "string" || values[f] === "");
          if (missing.length > 0) add(meta.location?.row, "missing-metadata", `METADATA of this ${name} rule lacks ${missing.join(", ")}`);
          else if (!ruleSeverities.includes(String(values.severity)))
            add(meta.location?.row, "missing-metadata", `severity ${String(values.severity)} is not one of ${ruleSeverities.join(", ")}`);
        }
      }
      if (!snakeCase.test(name)) add(line, "prefer-snake-case", `rule ${name} is not snake_case`);
    }

    const reported = new Set<string>();
    // The bodies, arguments and values of the rules (their names were checked above).
    for (const node of walk((module.rules ?? []).map((r) => ({ ...r, head: { ...r.head, ref: undefined, name: undefined } })))) {
      // prefer-snake-case for variables (`$`-named ones are OPA's, for `_` and generated terms).
      if (node.type === "var" && typeof node.value === "string" && !node.value.startsWith("$") && !snakeCase.test(node.value)) {
        const row = (node.location as Location | undefined)?.row;
        if (!reported.has(`${row}:${node.value}`)) add(row, "prefer-snake-case", `variable ${node.value} is not snake_case`);
        reported.add(`${row}:${node.value}`);
      }
      // use-in-operator: `x == xs[_]` (or `=`), either way round.
      const terms = node.terms;
      if (Array.isArray(terms) && terms.length === 3) {
        const [op, left, right] = terms as Term[];
        const opName = op.type === "ref" && Array.isArray(op.value) ? (op.value as Term[])[0]?.value : undefined;
        const iterates = (t: Term) => t.type === "ref" && Array.isArray(t.value) && isWildcard((t.value as Term[]).at(-1));
        if ((opName === "equal" || opName === "eq") && iterates(left) !== iterates(right)) {
          const [item, collection] = iterates(right) ? [left, right] : [right, left];
          const row = (node.location as Location | undefined)?.row;
          add(
            row,
            "use-in-operator",
            `write "${sourceText(item)} in ${sourceText(collection).replace(/\[_\]$/, "")}" instead of "${sourceText(node as { location?: Location })}"`,
          );
        }
      }
    }
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return findings.sort((a, b) => order(a.file, b.file) || a.line - b.line || order(a.rule, b.rule));
}

const usage = `usage: node -r ./tools/register.js tools/ci/rego-lint.ts [--root DIR]

Lints the Rego sources below DIR (default policies/, dist/ aside) with the pinned opa:
${Object.entries(regoLintRules)
  .map(([rule, what]) => `  ${rule}: ${what}`)
  .join("\n")}
exit: 0 clean, 1 findings (file:line: rule: message), 2 bad usage or opa missing`;

function main(argv: string[]): number {
  let values: { root?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { root: { type: "string" }, help: { type: "boolean", short: "h" } } }));
  } catch (err) {
    process.stderr.write(`rego-lint: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const root = resolve(values.root ?? join(__dirname, "..", "..", "policies"));
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    process.stderr.write(`rego-lint: --root ${root} is not a directory\n`);
    return 2;
  }
  const opa = findOpa();
  if (!opa) {
    process.stderr.write("rego-lint: opa not found in .tools/bin or PATH (run tools/install/tools.sh opa)\n");
    return 2;
  }
  const findings = lintRego(root, opa);
  const base = dirname(root);
  for (const f of findings) process.stderr.write(`${relative(process.cwd(), join(base, f.file))}:${f.line}: ${f.rule}: ${f.message}\n`);
  if (findings.length > 0) {
    process.stderr.write(`rego-lint: ${findings.length} finding(s)\n`);
    return 1;
  }
  process.stdout.write(`rego-lint: ${regoFiles(root).length} files clean (${Object.keys(regoLintRules).length} rules)\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`rego-lint: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
