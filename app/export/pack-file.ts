import { closeSync, openSync, readSync } from "node:fs";

// A signed pack read from a file in bounded memory: the document without its audit entries
// (`pack.audit.entries` emptied to []: controls, tree, proofs, signature, all small), then the
// entries one by one. Two passes over the file, each reading it in chunks: the first copies
// everything but the entries and parses that; the second parses each entry on its own. What the
// two give is exactly what JSON.parse of the whole file gives (same values, the same member when
// a key repeats: the last), and a file that is not JSON is refused as JSON.parse would refuse it.

export class PackFileError extends Error {}

const defaultChunkSize = 1 << 20;

const enum Byte {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  Colon = 0x3a,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
  OpenBracket = 0x5b,
  CloseBracket = 0x5d,
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

interface Frame {
  array: boolean;
  /** The member being read (objects at the top three levels only: the path to pack.audit.entries). */
  key?: string;
  /** Objects: the next string is a member name. */
  expectKey: boolean;
}

/** The path, as object member names from the top, of the array whose elements are streamed. */
const entriesPath = ["pack", "audit", "entries"];

interface ScanHandlers {
  /** Bytes of the document outside every entries array (the brackets included). */
  outside?(bytes: Buffer): void;
  /** One element of the n-th entries array (0-based, in file order), as its text. */
  element?(occurrence: number, text: string): void;
}

/**
 * Walks the file's JSON structure, byte by byte (strings skipped with indexOf), and reports the
 * bytes outside the entries arrays and the text of each element inside them. Returns how many
 * arrays stood at pack.audit.entries. Structure errors inside an entries array (JSON.parse of the
 * rest finds those outside) throw PackFileError.
 */
function scan(path: string, handlers: ScanHandlers, chunkSize: number): number {
  const fd = openSync(path, "r");
  const stack: Frame[] = [];
  let inString = false;
  let escaped = false;
  /** Reading a member name at the top three levels: its bytes so far. */
  let keyParts: Buffer[] | undefined;
  let occurrences = 0;
  /** Inside the entries array: its depth (stack length at its elements' level), or 0. */
  let entriesDepth = 0;
  /** At the entries array's level: what may come next. */
  // (an object: endElement, a closure, sets it, which the compiler's narrowing does not see)
  const at: { slot: "first" | "value" | "comma" } = { slot: "first" };
  /** The element being read: its bytes so far, and whether it is a bare literal (number, true, ...). */
  let element: Buffer[] | undefined;
  let literal = false;
  const fail = (message: string): never => {
    throw new PackFileError(message);
  };
  const endElement = (chunk: Buffer, end: number, start: number) => {
    element!.push(chunk.subarray(start, end));
    handlers.element?.(occurrences - 1, Buffer.concat(element!).toString("utf8"));
    element = undefined;
    literal = false;
    at.slot = "value";
  };
  try {
    const buffer = Buffer.allocUnsafe(chunkSize);
    for (;;) {
      const length = readSync(fd, buffer, 0, chunkSize, null);
      if (length === 0) break;
      // A copy per chunk: the parts of a member name, an element or the outside bytes outlive it.
      const chunk = Buffer.from(buffer.subarray(0, length));
      let copyFrom = entriesDepth > 0 ? -1 : 0; // start of the outside bytes to report; -1 inside the entries
      let elementFrom = element ? 0 : -1;
      let keyFrom = keyParts ? 0 : -1;
      let nextBackslash = -2; // index of the next backslash at or after i; -1: none left in the chunk
      let i = 0;
      while (i < length) {
        if (inString) {
          if (escaped) {
            escaped = false;
            i++;
            continue;
          }
          if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(Byte.Backslash, i);
          const quote = chunk.indexOf(Byte.Quote, i);
          const stop = quote === -1 ? length : quote;
          if (nextBackslash !== -1 && nextBackslash < stop) {
            i = nextBackslash + 1;
            escaped = true;
            continue;
          }
          if (quote === -1) {
            i = length;
            continue;
          }
          if (keyParts) {
            keyParts.push(chunk.subarray(keyFrom, quote));
            const name = Buffer.concat(keyParts).toString("utf8");
            keyParts = undefined;
            keyFrom = -1;
            try {
              stack[stack.length - 1].key = JSON.parse(`"${name}"`) as string;
            } catch {
              fail(`a member name is not a JSON string: "${name.slice(0, 40)}"`);
            }
          }
          inString = false;
          i = quote + 1;
          if (element && stack.length === entriesDepth) endElement(chunk, i, elementFrom);
          continue;
        }
        const c = chunk[i];
        if (element && literal) {
          // A bare literal at the array's level ends at a space, a comma or the bracket.
          if (isSpace(c) || c === Byte.Comma || c === Byte.CloseBracket) endElement(chunk, i, elementFrom);
          else {
            if (c === Byte.Quote || c === Byte.OpenBrace || c === Byte.OpenBracket || c === Byte.CloseBrace)
              fail("pack.audit.entries: an entry is not a JSON value");
            i++;
            continue;
          }
        }
        if (isSpace(c)) {
          i++;
          continue;
        }
        const top = stack[stack.length - 1];
        if (entriesDepth > 0 && stack.length === entriesDepth && !element) {
          // Between elements of the entries array: exactly one comma between two values.
          if (c === Byte.Comma) {
            if (at.slot !== "value") fail("pack.audit.entries: a comma where an entry should be");
            at.slot = "comma";
            i++;
            continue;
          }
          if (c === Byte.CloseBracket) {
            if (at.slot === "comma") fail("pack.audit.entries: a comma before ']'");
            stack.pop();
            entriesDepth = 0;
            copyFrom = i;
            i++;
            continue;
          }
          if (at.slot === "value") fail("pack.audit.entries: entries must be separated by commas");
          element = [];
          elementFrom = i;
          literal = c !== Byte.Quote && c !== Byte.OpenBrace && c !== Byte.OpenBracket;
          if (literal) {
            i++;
            continue;
          }
        }
        switch (c) {
          case Byte.Quote:
            inString = true;
            if (top && !top.array && top.expectKey) {
              top.expectKey = false;
              if (stack.length <= entriesPath.length) {
                keyParts = [];
                keyFrom = i + 1;
              }
            }
            break;
          case Byte.OpenBrace:
            stack.push({ array: false, expectKey: true });
            break;
          case Byte.OpenBracket: {
            const atEntries =
              entriesDepth === 0 && stack.length === entriesPath.length && stack.every((f, d) => !f.array && f.key === entriesPath[d]);
            stack.push({ array: true, expectKey: false });
            if (atEntries) {
              occurrences++;
              entriesDepth = stack.length;
              at.slot = "first";
              if (copyFrom >= 0) handlers.outside?.(chunk.subarray(copyFrom, i + 1));
              copyFrom = -1;
            }
            break;
          }
          case Byte.CloseBrace:
          case Byte.CloseBracket: {
            const frame = stack.pop();
            // Outside the entries, JSON.parse of the outside bytes reports a mismatch.
            if ((!frame || frame.array !== (c === Byte.CloseBracket)) && entriesDepth > 0)
              fail("pack.audit.entries: brackets do not match");
            if (element && stack.length === entriesDepth) endElement(chunk, i + 1, elementFrom);
            break;
          }
          case Byte.Comma:
            if (top && !top.array) top.expectKey = true;
            break;
          default:
            break;
        }
        i++;
      }
      if (element) element.push(chunk.subarray(elementFrom, length));
      if (keyParts) keyParts.push(chunk.subarray(keyFrom, length));
      if (copyFrom >= 0 && copyFrom < length) handlers.outside?.(chunk.subarray(copyFrom, length));
    }
    if (entriesDepth > 0 || element) fail("pack.audit.entries: the file ends inside the entries");
  } finally {
    closeSync(fd);
  }
  return occurrences;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface PackFile {
  /** JSON.parse of the file, with pack.audit.entries (when it is an array) as []. */
  doc: unknown;
  /**
   * Calls visit with each value JSON.parse would give in pack.audit.entries, in order, from a
   * second pass over the file; a PackFileError when an entry is not JSON.
   */
  forEachEntry(visit: (entry: unknown) => void): void;
}

/** Reads a pack file in bounded memory (see above); PackFileError when it is not JSON. `chunkSize`: bytes per read (tests use tiny ones). */
export function readPackFile(path: string, options: { chunkSize?: number } = {}): PackFile {
  const chunkSize = options.chunkSize ?? defaultChunkSize;
  const outside: Buffer[] = [];
  const occurrences = scan(path, { outside: (b) => outside.push(b) }, chunkSize);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.concat(outside).toString("utf8"));
  } catch (err) {
    throw new PackFileError((err as Error).message);
  }
  return {
    doc,
    forEachEntry(visit) {
      // The last array at that path is the one JSON.parse keeps (a repeated member: the last
      // wins), when what it keeps there is an array at all.
      const pack = isRecord(doc) ? doc.pack : undefined;
      const audit = isRecord(pack) ? pack.audit : undefined;
      if (!isRecord(audit) || !Array.isArray(audit.entries)) return;
      let n = 0;
      scan(
        path,
        {
          element(occurrence, text) {
            if (occurrence !== occurrences - 1) return;
            let entry: unknown;
            try {
              entry = JSON.parse(text);
            } catch (err) {
              throw new PackFileError(`pack.audit.entries[${n}]: ${(err as Error).message}`);
            }
            n++;
            visit(entry);
          },
        },
        chunkSize,
      );
    },
  };
}
