// Text a caller supplies that ends up in the audit log (the x-rfa reason, a token's subject):
// read as UTF-8, and refused when it holds a character that changes how the record reads:
// C0 and C1 controls (NEL, CSI, ...), DEL, the bidirectional overrides and isolates, and the
// Unicode line and paragraph separators.

// eslint-disable-next-line no-control-regex
const forbidden = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** "U+0085" for the first forbidden character of text, or undefined when there is none. */
export function forbiddenCharacter(text: string): string | undefined {
  const m = forbidden.exec(text);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}` : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A header value as the UTF-8 text its bytes spell. Node hands header bytes over one per
 * character (latin1); undefined when the bytes are not UTF-8.
 */
export function headerText(raw: string): string | undefined {
  // A character above U+00FF cannot come off the wire; it means the value was built in-process.
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u00ff]/.test(raw)) return raw;
  try {
    return utf8.decode(Buffer.from(raw, "latin1"));
  } catch {
    return undefined;
  }
}
