// PGlite's first start in a data folder runs initdb in wasm: ~4-5 s of CPU, more on a loaded
// machine, in every suite that starts the service on a fresh MAESTRO_DATA_DIR. One jest run makes
// that database once, through the service's own openDb on an empty folder, closes it cleanly, and
// each suite copies it (~0.1 s) into its own data folder; the service then starts on it and runs its
// own migrations, as on any later start. __tests__/app/server.test.ts still starts on an empty one.
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openDb, pgliteFolder } from "../app/db";
import { sharedRunDirVariable } from "./run-share";

/**
 * Puts an initialized, empty PGlite database into dataDir (which must hold none yet), copied from
 * the run's template. Outside a jest run (no shared folder) it does nothing: the service's first
 * start runs initdb itself.
 */
export async function seedPglite(dataDir: string): Promise<void> {
  const shared = process.env[sharedRunDirVariable];
  if (!shared) return;
  const template = join(shared, pgliteFolder);
  if (!existsSync(template)) {
    // The first suite of the run to get here makes it; one that races it keeps whichever landed.
    const work = mkdtempSync(join(shared, "pglite-build-"));
    const db = await openDb({ dataDir: work });
    await db.close();
    try {
      renameSync(join(work, pgliteFolder), template);
    } catch (err) {
      if (!existsSync(template)) throw err;
    }
    rmSync(work, { recursive: true, force: true });
  }
  if (existsSync(join(dataDir, pgliteFolder))) throw new Error(`seedPglite: ${dataDir} already holds a PGlite database`);
  cpSync(template, join(dataDir, pgliteFolder), { recursive: true });
}
