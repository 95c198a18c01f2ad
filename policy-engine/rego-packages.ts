// The rule packages of the Rego sources (conftest's namespaces): every package of a non-test .rego
// file under policies/ that holds rules (maestro.rules.*). The _test.rego packages are not rules.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The repository's Rego sources. */
export const policiesDir = join(__dirname, "..", "policies");

export function rulePackages(dir = policiesDir): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".rego") && !f.endsWith("_test.rego") && !f.startsWith("dist/"))
    .map((f) => /^package (maestro\.rules\.\S+)/m.exec(readFileSync(join(dir, f), "utf8"))?.[1])
    .filter((p): p is string => p !== undefined)
    .sort();
}
