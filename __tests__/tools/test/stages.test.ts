// tools/test/stages.ts, what `npm test` runs: the steps of a stage at once, stages in turn, each
// step's output whole (the first as it comes), and a failure that stops the next stage and names
// the step. The steps here are real processes (bash), in place of the npm scripts.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStages, stages, type Step } from "../../../tools/test/stages";

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "maestro-stages-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A step's script is the bash it runs.
const run = (step: Step) => spawn("bash", ["-c", step.script], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
async function stagesOf(all: Step[][]) {
  let out = "";
  const code = await runStages(all, { write: (t) => (out += t), run });
  return { code, out: out.replace(/ in \d+(\.\d+)? s/g, " in N s") };
}

test("the steps of a stage run at once: the first waits for what the second makes; each one's output is whole", async () => {
  const first = "for i in $(seq 100); do [ -e made ] && break; sleep 0.05; done; sleep 0.3; echo one; echo two >&2; [ -e made ]";
  const second = "echo a; touch made; echo b";
  const { code, out } = await stagesOf([[{ script: first }, { script: second }]]);
  expect(code).toBe(0);
  expect(out.startsWith(`== ${first} | ${second}\n`)).toBe(true);
  // The second's output comes as one block when it ends; the first's as it was written.
  expect(out).toContain(`== ${second} output\na\nb\n== ${second}: passed in N s\n`);
  expect(out).toContain(`one\ntwo\n== ${first}: passed in N s\n`);
  expect(out.trimEnd().split("\n").pop()).toBe("npm test: every step passed in N s");
});

test("a failed step fails its stage after the others end, names itself, and the next stage does not run", async () => {
  const { code, out } = await stagesOf([[{ script: "exit 3" }, { script: "sleep 0.2; echo done" }], [{ script: "touch ran" }]]);
  expect(code).toBe(1);
  expect(out).toContain("== exit 3: FAILED (exit 3) in N s\n");
  expect(out).toContain("== sleep 0.2; echo done output\ndone\n");
  expect(out.trimEnd().split("\n").pop()).toBe("npm test: FAILED: exit 3 (exit 3)");
  expect(out).not.toContain("touch ran");
});

test("a step that cannot start is one failure, with the reason, whichever its place in the stage", async () => {
  let out = "";
  const missing = (step: Step) => spawn(step.script, [], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const code = await runStages([[{ script: "maestro-no-such-program-1" }, { script: "maestro-no-such-program-2" }]], {
    write: (t) => (out += t),
    run: missing,
  });
  expect(code).toBe(1);
  for (const name of ["maestro-no-such-program-1", "maestro-no-such-program-2"]) {
    expect(out.match(new RegExp(`== ${name}: FAILED \\(exit 127\\)`, "g"))).toHaveLength(1);
    expect(out).toContain(`spawn ${name} ENOENT`);
  }
});

test("npm test's stages: the static checks first, then jest (without the real-controller suite) beside the GA checklist", () => {
  expect(stages.map((s) => s.map((step) => [step.script, ...(step.args ?? [])].join(" ")))).toEqual([
    ["typecheck", "lint", "lint:rego", "test:rego"],
    ["test:jest --testPathIgnorePatterns=/real-controller.test.ts", "verify:ga --local-cluster"],
  ]);
});
