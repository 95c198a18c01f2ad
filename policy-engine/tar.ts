// A strict reader and a canonical writer for the gzip'd tar archives OPA bundles are. Strict,
// because a signature covers the files, not the container: every byte of the container that is
// not file content must be exactly what a well-formed archive holds, or a flipped byte there would
// go unnoticed (gzip header, tar header checksum, padding, the end-of-archive blocks).
import { gunzipSync, deflateRawSync, crc32 } from "node:zlib";
import { BundleError } from "./errors";

/** One file of an archive; `name` as stored (OPA writes a leading "/"). */
export interface TarFile {
  name: string;
  data: Buffer;
}

// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255: what Go's compress/gzip (and so `opa build`) writes.
const canonicalGzipHeader = Buffer.from("1f8b08000000000000ff", "hex");
const block = 512;

const unreadable = (message: string) => new BundleError("BUNDLE_UNREADABLE", message);

/**
 * The most an archive may unpack to, 16 MiB by default (the shipped bundle is about 0.5 MiB).
 * OPA bounds each file of a bundle at 1 GiB (bundle.DefaultSizeLimitBytes, `size_limit_bytes`);
 * this service runs in a 512Mi pod, so its bound is on the whole archive and far lower.
 */
export const defaultMaxBundleBytes = 16 * 1024 * 1024;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? length : nul).toString("utf8");
}

function octal(header: Buffer, offset: number, length: number, what: string): number {
  const text = field(header, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw unreadable(`tar header ${what} is not octal`);
  return parseInt(text, 8);
}

function isZero(buf: Buffer): boolean {
  for (const b of buf) if (b !== 0) return false;
  return true;
}

/**
 * Reads every file of a .tar.gz; throws BundleError BUNDLE_UNREADABLE on anything non-canonical,
 * BUNDLE_TOO_LARGE when the archive or what it unpacks to exceeds maxBytes (a gzip bomb stops
 * at maxBytes of output, in milliseconds).
 */
export function readTarGz(archive: Buffer, maxBytes: number = defaultMaxBundleBytes): TarFile[] {
  if (archive.length > maxBytes) throw new BundleError("BUNDLE_TOO_LARGE", `the archive is ${archive.length} bytes (limit ${maxBytes})`);
  if (archive.length < canonicalGzipHeader.length || !archive.subarray(0, 10).equals(canonicalGzipHeader)) {
    throw unreadable(`gzip header is not ${canonicalGzipHeader.toString("hex")} (gzip, no flags, no mtime)`);
  }
  // The trailer's ISIZE (length mod 2^32) is the archive's own claim: a bomb that tells the truth
  // is refused without inflating a byte, one that lies stops at maxBytes of output.
  const claimed = archive.length >= 18 ? archive.readUInt32LE(archive.length - 4) : 0;
  if (claimed > maxBytes) throw new BundleError("BUNDLE_TOO_LARGE", `the archive says it unpacks to ${claimed} bytes (limit ${maxBytes})`);
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: maxBytes, chunkSize: 1024 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new BundleError("BUNDLE_TOO_LARGE", `the archive unpacks to more than ${maxBytes} bytes`);
    throw unreadable(`gzip data is corrupt (${(err as Error).message})`);
  }
  if (tar.length % block !== 0) throw unreadable("tar length is not a multiple of 512");
  const files: TarFile[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (;;) {
    if (offset + block > tar.length) throw unreadable("tar ends without end-of-archive blocks");
    const header = tar.subarray(offset, offset + block);
    if (isZero(header)) {
      if (!isZero(tar.subarray(offset))) throw unreadable("data after the end-of-archive block");
      if (tar.length - offset < 2 * block) throw unreadable("tar ends with one end-of-archive block instead of two");
      return files;
    }
    const checksumField = header.subarray(148, 156).toString("latin1");
    if (!/^[0-7]{6}\0 $/.test(checksumField)) throw unreadable(`tar header checksum field is malformed at offset ${offset}`);
    let sum = 0;
    for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== parseInt(checksumField.slice(0, 6), 8)) throw unreadable(`tar header checksum mismatch at offset ${offset}`);
    if (header.subarray(257, 265).toString("latin1") !== "ustar\u000000") throw unreadable("tar header is not POSIX ustar");
    const type = String.fromCharCode(header[156]);
    if (type !== "0" && type !== "\0") throw unreadable(`tar entry type '${type}' is not a regular file`);
    const prefix = field(header, 345, 155);
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const size = octal(header, 124, 12, "size");
    const start = offset + block;
    const end = start + size;
    const padded = start + Math.ceil(size / block) * block;
    if (padded > tar.length) throw unreadable(`tar entry ${name} is truncated`);
    if (!isZero(tar.subarray(end, padded))) throw unreadable(`tar entry ${name} has non-zero padding`);
    const key = name.replace(/^\/+/, "");
    if (!key || key.split("/").some((part) => part === ".." || part === ""))
      throw unreadable(`tar entry name '${name}' is not a plain path`);
    if (seen.has(key)) throw unreadable(`tar entry ${key} appears twice`);
    seen.add(key);
    files.push({ name, data: Buffer.from(tar.subarray(start, end)) });
    offset = padded;
  }
}

function writeField(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(header, offset);
}

/** Writes files as a canonical .tar.gz (ustar, mode 0600, mtime 0, the gzip header Go writes). */
export function writeTarGz(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const header = Buffer.alloc(block);
    let name = file.name;
    let prefix = "";
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf("/", name.length - 1);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    writeField(header, 0, 100, name);
    writeField(header, 100, 8, "0000600\0");
    writeField(header, 108, 8, "0000000\0");
    writeField(header, 116, 8, "0000000\0");
    writeField(header, 124, 12, `${file.data.length.toString(8).padStart(11, "0")}\0`);
    writeField(header, 136, 12, "00000000000\0");
    header[156] = "0".charCodeAt(0);
    writeField(header, 257, 8, "ustar\u000000");
    writeField(header, 345, 155, prefix);
    header.fill(32, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    writeField(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    parts.push(header, file.data, Buffer.alloc((block - (file.data.length % block)) % block));
  }
  parts.push(Buffer.alloc(2 * block));
  const tar = Buffer.concat(parts);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(tar), 0);
  trailer.writeUInt32LE(tar.length % 2 ** 32, 4);
  return Buffer.concat([canonicalGzipHeader, deflateRawSync(tar, { level: 9 }), trailer]);
}
