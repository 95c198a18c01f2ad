// Reading the service's environment: one error naming the variable and what is allowed, and the
// readers every settings section (app/settings.ts and app/<area>/settings.ts) uses.
import { MaestroError } from "../lib/errors";

/** A setting the service cannot start with; names the variable and what is allowed. */
export class SettingsError extends MaestroError<"SETTINGS_INVALID"> {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super("SETTINGS_INVALID", `${variable}: ${detail}`);
  }
}

export function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new SettingsError(name, `must be 'true' or 'false' (got '${raw}')`);
}

export function readInteger(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") {
    if (fallback === undefined) throw new SettingsError(name, "is required");
    return fallback;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new SettingsError(name, `must be an integer ${min}-${max} (got '${raw}')`);
  return Number(raw);
}
