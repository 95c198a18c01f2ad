// What every command-line tool of the project shares: how a usage mistake is raised and named.

/** Bad command-line usage: the CLIs print it with their usage text and exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The value given after `flag`; throws UsageError naming the flag when it is missing or is another flag. */
export function flagValue(flag: string, value: string | undefined, what = "a value"): string {
  if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs ${what}`);
  return value;
}
