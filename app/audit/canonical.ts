/**
 * Canonical JSON, the bytes `jq -cjS .` prints for strings and integers: object keys sorted by
 * code point (jq compares UTF-8 bytes), no whitespace, JSON.stringify's escaping and number forms
 * except DEL, which jq writes as \u007f. Equal values give equal bytes.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value, codePointOrder)).replace(/\u007f/g, "\\u007f");
}

type KeyOrder = (a: string, b: string) => number;

/** UTF-16 code unit order (Array.prototype.sort's): what entry hashes were computed with. */
const codeUnitOrder: KeyOrder = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Code point order (= UTF-8 byte order). It differs from code unit order only where a surrogate
 * (U+D800-U+DFFF, half of a character above U+FFFF) meets a unit at or above U+E000.
 */
export const codePointOrder: KeyOrder = (a, b) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
};

/**
 * An own, enumerable data property: `out[key] = v` on a plain object would call the
 * `__proto__` setter instead (a "__proto__" member from JSON.parse would set the prototype and
 * fall out of the signed bytes).
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * The value with every object's keys in sorted order (code unit order unless told otherwise:
 * entry hashes use it); parts already in order are reused, not copied.
 */
export function sortDeep(value: unknown, order: KeyOrder = codeUnitOrder): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = sortDeep(value[i], order);
      if (v !== value[i]) (copy ??= value.slice())[i] = v;
    }
    return copy ?? value;
  }
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 0; i < keys.length && inOrder; i++) inOrder = (i === 0 || order(keys[i - 1], keys[i]) < 0) && record[keys[i]] !== undefined;
  if (inOrder) {
    let copy: Record<string, unknown> | undefined;
    for (const key of keys) {
      const v = sortDeep(record[key], order);
      if (v !== record[key]) setOwn((copy ??= { ...record }), key, v);
    }
    return copy ?? value;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys.sort(order)) if (record[key] !== undefined) setOwn(out, key, sortDeep(record[key], order));
  return out;
}
