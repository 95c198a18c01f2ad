import { crc32, deflateRawSync, gunzipSync } from "node:zlib";
import fc from "fast-check";
import { BundleError, bundleErrorCodes } from "../../policy-engine/errors";
import { readTarGz, writeTarGz, type TarFile } from "../../policy-engine/tar";
import { propertyRuns } from "../support/properties";

// Properties of the bundle archive reader: what the writer writes reads back; anything else is
// either refused with a BundleError or yields only plain, unique paths. Never another error.

const segment = fc.stringMatching(/^[a-z0-9_][a-z0-9._-]{0,19}$/).filter((s) => s !== "." && s !== "..");
const fileName = fc.array(segment, { minLength: 1, maxLength: 7 }).map((parts) => `/${parts.join("/")}`);
const files = fc.uniqueArray(fc.record({ name: fileName, data: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)) }), {
  minLength: 1,
  maxLength: 5,
  selector: (f) => f.name.replace(/^\/+/, ""),
});

/** Gzip exactly as writeTarGz does (the header Go writes), around any tar bytes. */
function gzipCanonical(tar: Buffer): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(tar), 0);
  trailer.writeUInt32LE(tar.length % 2 ** 32, 4);
  return Buffer.concat([Buffer.from("1f8b08000000000000ff", "hex"), deflateRawSync(tar), trailer]);
}

/** readTarGz's outcome: the files, or the BundleError code; any other throw fails the property. */
function outcome(archive: Buffer): TarFile[] | string {
  try {
    return readTarGz(archive);
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    expect(bundleErrorCodes).toContain(err.code);
    return err.code;
  }
}

function expectPlainUniquePaths(result: TarFile[]): void {
  const keys = result.map((f) => f.name.replace(/^\/+/, ""));
  expect(new Set(keys).size).toBe(keys.length);
  for (const key of keys) {
    expect(key).not.toBe("");
    expect(key.split("/")).not.toContainEqual("..");
    expect(key.split("/")).not.toContainEqual("");
  }
}

test("what writeTarGz writes, readTarGz reads back byte for byte (names over 100 bytes use the ustar prefix)", () => {
  fc.assert(
    fc.property(files, (fs) => {
      expect(readTarGz(writeTarGz(fs))).toEqual(fs);
    }),
    propertyRuns("tar round trip", 150),
  );
});

test("a flipped byte anywhere in the archive is refused, or reads back exactly the same files", () => {
  fc.assert(
    fc.property(files, fc.nat(), fc.integer({ min: 1, max: 255 }), (fs, at, mask) => {
      const archive = writeTarGz(fs);
      const i = at % archive.length;
      const mutated = Buffer.from(archive);
      mutated[i] ^= mask;
      const result = outcome(mutated);
      // Inflate ignores the padding bits after the final block: such a flip changes no file.
      if (typeof result !== "string") expect(result).toEqual(fs);
    }),
    propertyRuns("tar byte flip", 300),
  );
});

test("any byte changed inside the tar (gzip re-made around it) is refused or yields only plain, unique paths", () => {
  fc.assert(
    fc.property(files, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean(), (fs, at, byte, fixChecksum) => {
      const tar = gunzipSync(writeTarGz(fs));
      const i = at % tar.length;
      const mutated = Buffer.from(tar);
      mutated[i] = byte;
      if (fixChecksum) {
        // Re-sign the header the byte is in, so the change gets past the checksum.
        const start = i - (i % 512);
        const header = mutated.subarray(start, start + 512);
        header.fill(32, 148, 156);
        let sum = 0;
        for (const b of header) sum += b;
        Buffer.from(`${sum.toString(8).padStart(6, "0")}\0 `, "latin1").copy(header, 148);
      }
      const result = outcome(gzipCanonical(mutated));
      if (typeof result !== "string") expectPlainUniquePaths(result);
    }),
    propertyRuns("tar content mutation", 400),
  );
});

test("arbitrary bytes, with or without the canonical gzip header, are refused with a BundleError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, withHeader) => {
      const archive = withHeader ? Buffer.concat([Buffer.from("1f8b08000000000000ff", "hex"), bytes]) : Buffer.from(bytes);
      const result = outcome(archive);
      if (typeof result !== "string") expectPlainUniquePaths(result);
    }),
    propertyRuns("tar arbitrary bytes", 400),
  );
});

test("an arbitrary tar of ustar headers (names with '..', '//', links, long sizes) gzipped canonically never escapes", () => {
  const header = fc.record({
    name: fc.oneof(fileName, fc.constantFrom("../etc/passwd", "a//b", "/", "a/../b", "./a", "a/./b", "", "a\0b")),
    type: fc.constantFrom("0", "\0", "1", "2", "5", "x", "g", "L"),
    size: fc.oneof(fc.nat({ max: 600 }), fc.constant(0o77777777777)),
  });
  fc.assert(
    fc.property(fc.array(header, { maxLength: 4 }), fc.nat({ max: 3 }), (headers, trailingBlocks) => {
      const parts: Buffer[] = [];
      for (const h of headers) {
        const block = Buffer.alloc(512);
        block.write(h.name.slice(0, 100), 0, "utf8");
        block.write("0000600\0", 100, "latin1");
        block.write(`${h.size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
        block.write("00000000000\0", 136, "latin1");
        block.write(h.type, 156, "latin1");
        block.write("ustar\u000000", 257, "latin1");
        block.fill(32, 148, 156);
        let sum = 0;
        for (const b of block) sum += b;
        block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
        parts.push(block, Buffer.alloc(Math.ceil(Math.min(h.size, 600) / 512) * 512));
      }
      parts.push(Buffer.alloc(512 * trailingBlocks));
      const result = outcome(gzipCanonical(Buffer.concat(parts)));
      if (typeof result !== "string") expectPlainUniquePaths(result);
    }),
    propertyRuns("tar crafted headers", 400),
  );
});

/** One ustar entry, checksum made, for the crafted cases below. */
function entry(name: string, type: string, data = Buffer.alloc(0)): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, "utf8");
  block.write("0000600\0", 100, "latin1");
  block.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  block.write("00000000000\0", 136, "latin1");
  block.write(type, 156, "latin1");
  block.write("ustar\u000000", 257, "latin1");
  block.fill(32, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return Buffer.concat([block, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
const archiveOf = (...entries: Buffer[]) => gzipCanonical(Buffer.concat([...entries, Buffer.alloc(1024)]));

test.each([
  ["a '..' path", archiveOf(entry("../etc/passwd", "0", Buffer.from("x")))],
  ["a '..' segment inside the path", archiveOf(entry("policy/../../x", "0", Buffer.from("x")))],
  ["an empty segment", archiveOf(entry("policy//x", "0", Buffer.from("x")))],
  ["a symbolic link", archiveOf(entry("data.json", "2"))],
  ["a hard link", archiveOf(entry("data.json", "1"))],
  ["a directory", archiveOf(entry("policy/", "5"))],
  ["a PAX extended header", archiveOf(entry("PaxHeader/x", "x", Buffer.from("30 path=../../../../etc/passwd\n")), entry("x", "0"))],
  ["a PAX global header", archiveOf(entry("pax_global_header", "g", Buffer.from("20 comment=hello\n")), entry("x", "0"))],
  ["a GNU long name", archiveOf(entry("././@LongLink", "L", Buffer.from("../../evil")), entry("x", "0"))],
  ["a duplicate file", archiveOf(entry("/data.json", "0", Buffer.from("{}")), entry("data.json", "0", Buffer.from("{}")))],
  ["one end-of-archive block instead of two", gzipCanonical(Buffer.concat([entry("x", "0", Buffer.from("x")), Buffer.alloc(512)]))],
])("a crafted archive with %s is refused as BUNDLE_UNREADABLE", (_what, archive) => {
  expect(outcome(archive)).toBe("BUNDLE_UNREADABLE");
});
