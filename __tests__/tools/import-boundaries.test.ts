// The import boundaries (.dependency-cruiser.cjs; `npm run lint:imports` checks the repository with
// them) over a planted tree that breaks each rule once: the lint must name every one.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const repo = resolve(__dirname, "..", "..");
const depcruise = join(repo, "node_modules", ".bin", "depcruise");
const run = (cwd: string, paths: string[]) =>
  promisify(execFile)(depcruise, ["--config", ".dependency-cruiser.cjs", "--output-type", "err", ...paths], { cwd }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

describe("a planted tree breaking every rule", () => {
  let dir: string;
  const files: Record<string, string> = {
    "config/schema.ts": 'import { server } from "../app/server";\nexport const schema = server;\n',
    "constructs/bucket.ts": 'import { harness } from "../harness/s3";\nexport const bucket = harness;\n',
    "app/server.ts": 'import { schema } from "../config/schema";\nexport const server = 1;\nexport const s = schema;\n',
    "app/a.ts": 'import { b } from "./b";\nexport const a = b;\n',
    "app/b.ts": 'import { a } from "./a";\nexport const b = a;\n',
    "contracts/shape.ts": 'import { engine } from "../policy-engine/gate";\nexport const shape = engine;\n',
    "policy-engine/gate.ts": 'import { server } from "../app/server";\nexport const engine = server;\n',
    "lib/net.ts": 'import { shape } from "../contracts/shape";\nexport const net = shape;\n',
    "harness/s3.ts": 'import { fixture } from "../__tests__/support/fixture";\nexport const harness = fixture;\n',
    "__tests__/support/fixture.ts": "export const fixture = 1;\n",
    "tools/check.ts": 'import { missing } from "./does-not-exist";\nexport const check = missing;\n',
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "maestro-boundaries-"));
    cpSync(join(repo, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "node16", strict: true } }));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("fails, naming each rule with the importer and the imported module", async () => {
    const r = await run(dir, ["config", "constructs", "app", "contracts", "policy-engine", "lib", "harness", "tools", "__tests__"]);
    expect(r.code).not.toBe(0);
    const expected: Array<[string, string]> = [
      ["infrastructure-not-service", "config/schema.ts → app/server.ts"],
      ["infrastructure-not-tools-or-harness", "constructs/bucket.ts → harness/s3.ts"],
      ["service-not-infrastructure", "app/server.ts → config/schema.ts"],
      ["no-circular", "app/a.ts →"],
      ["shared-layers-stand-alone", "policy-engine/gate.ts → app/server.ts"],
      ["contracts-and-lib-below-policy-engine", "contracts/shape.ts → policy-engine/gate.ts"],
      ["lib-is-the-bottom", "lib/net.ts → contracts/shape.ts"],
      ["only-tests-import-tests", "harness/s3.ts → __tests__/support/fixture.ts"],
      ["not-to-unresolvable", "tools/check.ts → ./does-not-exist"],
    ];
    for (const [rule, edge] of expected) expect(r.out).toMatch(new RegExp(`${rule}: ${edge.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  }, 120_000);
});
