import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

// The one Node version the project runs on: .nvmrc (tools/install/tools.sh installs it into
// .tools/node and links it as node_modules/.bin/node, which npm puts first on every script's PATH).

const root = resolve(__dirname, "../..");

/** The exact version .nvmrc pins, e.g. "24.22.3"; throws naming the file when it is not one. */
export function pinnedNodeVersion(): string {
  const text = readFileSync(join(root, ".nvmrc"), "utf8").trim().replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+$/.test(text)) throw new Error(`.nvmrc must hold one exact Node version like 24.22.3 (got '${text}')`);
  return text;
}

/** The pinned Node's binary as tools.sh installs it. */
export const pinnedNodeBinary = join(root, ".tools", "node", "bin", "node");

/** Why this process is not on the pinned Node, or undefined when it is. */
export function nodeMismatch(version: string = process.versions.node): string | undefined {
  const pinned = pinnedNodeVersion();
  if (version.split(".")[0] === pinned.split(".")[0]) return undefined;
  return `running on Node ${version}, but .nvmrc pins ${pinned}: npm run setup (or tools/install/tools.sh node) installs it and links it as node_modules/.bin/node, which npm ci removes`;
}
