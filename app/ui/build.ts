// `npm run ui:build [-- --if-missing]`: builds the ComplianceBoard (app/ui) with Vite into
// app/ui/dist, which the service serves at /. --if-missing skips the build when dist exists
// (npm run app and the browser tests use it). Exit 0 built or present, 1 build failed, 2 bad usage.
import { existsSync } from "node:fs";
import { join } from "node:path";

export const uiRoot = __dirname;
export const uiDist = join(__dirname, "dist");

/** Builds the page; resolves once dist/index.html is written. */
export async function buildUi(options: { quiet?: boolean } = {}): Promise<void> {
  const { build } = await import("vite");
  await build({
    root: uiRoot,
    base: "/",
    configFile: false,
    logLevel: options.quiet ? "error" : "info",
    build: { outDir: uiDist, emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  });
}

/** Builds only when dist/index.html is missing. */
export async function ensureUiBuilt(options: { quiet?: boolean } = {}): Promise<boolean> {
  if (existsSync(join(uiDist, "index.html"))) return false;
  await buildUi(options);
  return true;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    process.stdout.write(
      "usage: npm run ui:build [-- --if-missing]\n\nBuilds app/ui into app/ui/dist with Vite.\n  --if-missing  skip when app/ui/dist/index.html exists\n",
    );
    process.exit(0);
  }
  const unknown = args.filter((a) => a !== "--if-missing");
  if (unknown.length > 0) {
    process.stderr.write(`ui:build: unknown argument '${unknown[0]}' (allowed: --if-missing, --help)\n`);
    process.exit(2);
  }
  (args.includes("--if-missing") ? ensureUiBuilt() : buildUi()).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`ui:build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
