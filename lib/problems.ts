// How a schema problem is spelled everywhere (configuration, records, verdicts, reports): the key
// path as code would write it, what is allowed, and the value that was given.
import type { z } from "zod";

/** ` (got <json>)` for the value at path in input (short values only), ` (missing)` when absent. */
export function describeValue(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return "";
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (value === undefined) return " (missing)";
  const text = JSON.stringify(value);
  return text && text.length <= 80 ? ` (got ${text})` : "";
}

const plainKey = /^[A-Za-z_$][\w$-]*$/;

/**
 * `mesh.allow[2].from`: the same spelling for schema and cross-field problems. A key that is not
 * a plain name (empty, spaces, dots) is quoted: `gateway.groupRoles[""]`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((k, i) =>
        typeof k === "number"
          ? `[${k}]`
          : plainKey.test(String(k))
            ? `${i === 0 ? "" : "."}${String(k)}`
            : `[${JSON.stringify(String(k))}]`,
      )
      .join("") || "(root)"
  );
}

/** One line per problem: `key.path[i]: what is allowed (got value)`; the value only when input is given. */
export function schemaProblems(error: z.ZodError, input?: unknown): string[] {
  return error.issues.map((i) => `${formatPath(i.path)}: ${i.message}${input === undefined ? "" : describeValue(input, i.path)}`);
}
