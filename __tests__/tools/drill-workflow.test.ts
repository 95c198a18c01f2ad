import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadEnvironment } from "../../config/load";
import { synthAll } from "../../harness/synth";

type Step = { name?: string; run?: string; uses?: string; with?: Record<string, string> };
const workflow = parse(readFileSync(join(__dirname, "..", "..", ".github", "workflows", "drill-restore.yml"), "utf8")) as {
  on: { workflow_dispatch: { inputs: Record<string, { required?: boolean }> } };
  permissions: Record<string, string>;
  jobs: { drill: { steps: Step[] } };
};
const steps = workflow.jobs.drill.steps;

test("drill-restore takes ISO_TS as a required input and uses OIDC, not stored keys", () => {
  expect(workflow.on.workflow_dispatch.inputs.ISO_TS.required).toBe(true);
  expect(workflow.permissions).toEqual({ contents: "read", "id-token": "write" });
  expect(JSON.stringify(steps)).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
});

test("drill-restore reads the backup stack outputs, runs the stack's drill_command and uploads the record", async () => {
  const outputs = (await synthAll("staging")).backup.output!;
  const drillCommand = String(outputs.drill_command.value);
  // The workflow's output step is the first half of the published command line.
  const read = steps.find((s) => s.name === "Read the backup stack outputs")!;
  expect(drillCommand.startsWith(read.run!.split("\n")[0].trim())).toBe(true);
  const drill = steps.find((s) => s.name?.startsWith("Run the drill"))!;
  expect(drill.run).toContain('eval "${drill_command//<ISO_TS>/\\"\\$ISO_TS\\"}"');
  const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"))!;
  expect(upload.with!.path).toContain(drillCommand.match(/--record (\S+)/)![1]);
});

test("the WAL-G the drill workflow installs is the release the stack deploys", () => {
  const pin = Object.fromEntries(
    readFileSync(join(__dirname, "..", "..", "tools", "db", "wal-g.pin"), "utf8")
      .split("\n")
      .filter((l) => /^\w+=/.test(l))
      .map((l) => l.split("=", 2) as [string, string]),
  );
  expect(pin.version).toBe(loadEnvironment("staging").images.walg.tag);
  expect(pin.version).toBe(loadEnvironment("production").images.walg.tag);
});
