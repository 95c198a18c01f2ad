// Every node process of `npm test` runs on .nvmrc's Node: jest and its workers, children started
// as `node`, and whatever npm starts (scripts, #!/usr/bin/env node CLIs, nested npm), because
// tools/install/tools.sh links the pinned Node as node_modules/.bin/node and npm puts that
// directory first on every script's PATH.
import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { describeWithService } from "../../support/services";
import { nodeMismatch, pinnedNodeBinary, pinnedNodeVersion } from "../../support/node-pin";

const root = resolve(__dirname, "..", "..", "..");
const link = join(root, "node_modules", ".bin", "node");

describeWithService(
  "the pinned Node (.nvmrc)",
  existsSync(pinnedNodeBinary) ? undefined : "the pinned Node in .tools/node (npm run setup)",
  () => {
    const pinned = `v${pinnedNodeVersion()}`;
    // A shell's PATH: without any node_modules/.bin and without .tools/node.
    const shellPath = (process.env.PATH ?? "")
      .split(delimiter)
      .filter((dir) => dir && !dir.endsWith(join("node_modules", ".bin")) && !dir.startsWith(join(root, ".tools")))
      .join(delimiter);
    const run = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
      execFileSync(command, args, { cwd: root, env, encoding: "utf8", timeout: 60_000 }).trim();

    test("jest and its workers run on the pinned version", () => {
      expect(process.version).toBe(pinned);
      expect(realpathSync(process.execPath)).toBe(realpathSync(pinnedNodeBinary));
    });

    test("node_modules/.bin/node is the pinned binary", () => {
      expect(realpathSync(link)).toBe(realpathSync(pinnedNodeBinary));
    });

    test("a child a test starts as `node` runs the pinned version", () => {
      expect(run("node", ["-p", "process.version"])).toBe(pinned);
    });

    test("npm scripts, and npm started from a script (as npm test starts npm run), run the pinned version from a shell's PATH", () => {
      const env = { ...process.env, PATH: shellPath };
      expect(run("npm", ["exec", "--offline", "-c", "node -p process.version"], env)).toBe(pinned);
      const nested = JSON.parse(run("npm", ["exec", "--offline", "-c", "npm version --json"], env)) as { node: string };
      expect(`v${nested.node}`).toBe(pinned);
    });

    test("the CDKTF CLI's native node-pty loads on the pinned version (tools.sh builds it: no prebuilt addon past Node 22)", () => {
      expect(run("node", ["-e", 'require("@cdktf/node-pty-prebuilt-multiarch"); console.log("loaded")'])).toBe("loaded");
    });

    test("the guard names the pinned version when a process runs on another major", () => {
      expect(nodeMismatch(pinnedNodeVersion())).toBeUndefined();
      expect(nodeMismatch("20.20.2")).toMatch(
        new RegExp(`running on Node 20\\.20\\.2, but \\.nvmrc pins ${pinnedNodeVersion().replace(/\./g, "\\.")}`),
      );
    });
  },
);

// A plain `npm ci && npm run synth` (without README's `npm run bootstrap`) runs synth on the machine's
// own Node: on a machine that has only an older Node, the transpile hook and synth must still run.
const machineNode = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p) && !realpathSync(p).startsWith(root));
(machineNode ? test : test.skip)("the transpile hook loads on the machine's own Node, before setup (README's quick start)", () => {
  const out = execFileSync(machineNode!, ["-r", "./tools/register.js", "-e", "console.log(process.version)"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(out.trim()).toMatch(/^v\d+\./);
});
