// The one error base of the project: every error a caller may handle carries a stable `code`
// (callers and tests match on it, never on message text) and its class name as `name`.
// policy-engine/errors.ts (BundleError and its codes) is the model the others follow.

/** An error the project raises on purpose: `code` is stable, the message says what to fix. */
export class MaestroError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Whether err is one of the project's own errors (as opposed to a bug or a library's failure). */
export function isMaestroError(err: unknown): err is MaestroError {
  return err instanceof MaestroError;
}
