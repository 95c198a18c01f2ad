/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, JSON.stringify's
 * escaping and number forms. Equal values give equal bytes; `jq -cjS .` prints the same bytes
 * for the strings and integers the signed pack holds.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortDeep(v);
    }
    return out;
  }
  return value;
}
