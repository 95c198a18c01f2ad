// harness/binaries.ts: a pyenv shim is seen through to the program it runs, so scripts that name
// the program skip pyenv's ~0.1 s of CPU on every call; anything else is left as found.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { findBinary, pathFirst, unshimmed } from "../../harness/binaries";

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "maestro-binaries-"))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a path that is not a pyenv shim is returned as it is", () => {
  expect(unshimmed("/usr/bin/env")).toBe("/usr/bin/env");
});

test("a shim pyenv cannot resolve stays the shim (the caller still runs something)", () => {
  const shims = join(dir, ".pyenv", "shims");
  mkdirSync(shims, { recursive: true });
  const shim = join(shims, "maestro-no-such-program");
  writeFileSync(shim, "#!/bin/sh\nexit 3\n");
  chmodSync(shim, 0o755);
  expect(unshimmed(shim)).toBe(shim);
});

// On a machine whose AWS CLI is behind a pyenv shim (this one): the program pyenv would run.
// Elsewhere there is nothing to see through, and the path found is the one returned.
test("the AWS CLI is run without its shim", () => {
  const aws = findBinary("aws");
  if (!aws) throw new Error("the AWS CLI (aws) is not installed");
  const real = unshimmed(aws);
  expect(real).not.toContain("/.pyenv/shims/");
  if (aws.includes("/.pyenv/shims/")) expect(real).toBe(execFileSync("pyenv", ["which", "aws"], { encoding: "utf8" }).trim());
  else expect(real).toBe(aws);
  expect(execFileSync(real, ["--version"], { encoding: "utf8" })).toMatch(/^aws-cli\//);
  expect(pathFirst(real).split(delimiter)[0]).toBe(join(real, ".."));
});
