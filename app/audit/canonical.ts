/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, JSON.stringify's
 * escaping and number forms. Equal values give equal bytes; `jq -cjS .` prints the same bytes
 * for the strings and integers the signed pack holds.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

/**
 * An own, enumerable data property: `out[key] = v` on a plain object would call the
 * `__proto__` setter instead (a "__proto__" member from JSON.parse would set the prototype and
 * fall out of the signed bytes).
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The value with every object's keys in sorted order; parts already in order are reused, not copied. */
export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = sortDeep(value[i]);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return copy ?? value;
  }
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 0; i < keys.length && inOrder; i++) inOrder = (i === 0 || keys[i - 1] < keys[i]) && record[keys[i]] !== undefined;
  if (inOrder) {
    let copy: Record<string, unknown> | undefined;
    for (const key of keys) {
      const v = sortDeep(record[key]);
      if (v !== record[key]) setOwn((copy ??= { ...record }), key, v);
    }
    return copy ?? value;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys.sort()) if (record[key] !== undefined) setOwn(out, key, sortDeep(record[key]));
  return out;
}
