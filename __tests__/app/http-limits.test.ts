import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildService, defaultBodyLimit, type BuiltService } from "../../app/server";
import { readHttpSettings, readServiceSettings, SettingsError } from "../../app/settings";
import { scimSnapshotMaxBytes } from "../../app/scim/routes";
import { seedPglite } from "../../harness/pglite-template";

// The service listening on a real loopback port, driven by raw sockets: a client that sends a
// huge body without credentials, and clients that send their request one byte at a time.

const syncToken = "sync-token-for-tests-0123456789abcdef";

interface Exchange {
  /** Everything the server sent. */
  received: string;
  /** When the server closed the connection (ms after it was opened), or undefined if it did not within the wait. */
  closedAfterMs?: number;
  /** When the first response byte arrived. */
  answeredAfterMs?: number;
  /** Bytes of the request this client had written when the first response byte arrived. */
  sentWhenAnswered?: number;
}

/**
 * Opens a connection, writes `head`, then writes `body` in chunks of `chunk` bytes every
 * `everyMs` until done or until the server answers or closes; waits at most `waitMs`.
 */
function exchange(port: number, head: string, body: Buffer, opts: { chunk: number; everyMs: number; waitMs: number }): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    const result: Exchange = { received: "" };
    let sent = 0;
    let offset = 0;
    let timer: NodeJS.Timeout | undefined;
    const socket: Socket = connect(port, "127.0.0.1");
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve(result);
    };
    const deadline = setTimeout(finish, opts.waitMs);
    const writeNext = () => {
      if (socket.destroyed || result.answeredAfterMs !== undefined || offset >= body.length) return;
      const piece = body.subarray(offset, offset + opts.chunk);
      offset += piece.length;
      socket.write(piece, () => (sent += piece.length));
      timer = setTimeout(writeNext, opts.everyMs);
    };
    socket.on("connect", () => {
      socket.write(head, () => (sent += Buffer.byteLength(head)));
      writeNext();
    });
    socket.on("data", (d) => {
      if (result.answeredAfterMs === undefined) {
        result.answeredAfterMs = Date.now() - started;
        result.sentWhenAnswered = sent;
      }
      result.received += d.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      result.closedAfterMs = Date.now() - started;
      finish();
    });
  });
}

describe("HTTP limits on a listening service", () => {
  let dir: string;
  let service: BuiltService;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "maestro-http-limits-"));
    await seedPglite(dir);
    service = await buildService(
      readServiceSettings({
        MAESTRO_DATA_DIR: dir,
        SCIM_SYNC_TOKEN: syncToken,
        HTTP_REQUEST_TIMEOUT_MS: "2000",
        HTTP_HEADERS_TIMEOUT_MS: "1000",
        HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
        HTTP_CONNECTION_TIMEOUT_MS: "3000",
      }),
      { logger: false },
    );
    await service.server.listen({ port: 0, host: "127.0.0.1" });
    port = (service.server.server.address() as { port: number }).port;
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (length: number, authorization?: string) =>
    `POST /api/scim/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${
      authorization ? `Authorization: ${authorization}\r\n` : ""
    }\r\n`;

  test("POST /api/scim/sync without the sync token is refused before its 31 MB body is read", async () => {
    const length = 31 * 1024 * 1024;
    // The body is held back: only 64 KiB of it is ever written unless the server waits for more.
    const res = await exchange(port, post(length), Buffer.alloc(length, "["), { chunk: 64 * 1024, everyMs: 200, waitMs: 5000 });
    expect(res.received).toMatch(/^HTTP\/1\.1 401 /);
    expect(res.sentWhenAnswered).toBeLessThan(length / 10);
  });

  test("four such requests at once leave the resident memory where it was", async () => {
    const length = 31 * 1024 * 1024;
    const body = Buffer.alloc(length, "[");
    const before = process.memoryUsage().rss;
    const all = await Promise.all(
      Array.from({ length: 4 }, () =>
        exchange(port, post(length, "Bearer wrong-token"), body, { chunk: 256 * 1024, everyMs: 20, waitMs: 8000 }),
      ),
    );
    for (const res of all) expect(res.received).toMatch(/^HTTP\/1\.1 401 /);
    // Parsing four 31 MB bodies took 78 → 645 MB; the client's body buffer is shared and counted before.
    const grew = process.memoryUsage().rss - before;
    process.stdout.write(`four unauthenticated 31 MB posts: resident memory grew ${(grew / 1048576).toFixed(1)} MiB\n`);
    expect(grew).toBeLessThan(100 * 1024 * 1024);
  });

  test("with the sync token, a body over the route's limit gets 413; other routes take at most the default limit", async () => {
    const tooBig = await service.server.inject({
      method: "POST",
      url: "/api/scim/sync",
      headers: { authorization: `Bearer ${syncToken}`, "content-type": "application/json" },
      payload: Buffer.alloc(scimSnapshotMaxBytes + 1, " "),
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ error: "payload_too_large", code: "FST_ERR_CTP_BODY_TOO_LARGE" });
    expect(service.server.initialConfig.bodyLimit).toBe(defaultBodyLimit);
  });

  test("a client trickling its headers one byte every 200 ms is cut off after the headers timeout", async () => {
    const head = Buffer.from("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + "a".repeat(200) + "\r\n\r\n");
    const started = Date.now();
    const all = await Promise.all(Array.from({ length: 20 }, () => exchange(port, "", head, { chunk: 1, everyMs: 200, waitMs: 10_000 })));
    for (const res of all) {
      expect(res.closedAfterMs).toBeDefined();
      expect(res.closedAfterMs!).toBeLessThan(4000);
    }
    expect(Date.now() - started).toBeLessThan(6000);
  });

  test("a client trickling its body one byte every 200 ms is cut off after the request timeout", async () => {
    const res = await exchange(port, post(500, `Bearer ${syncToken}`), Buffer.alloc(500, " "), { chunk: 1, everyMs: 200, waitMs: 10_000 });
    expect(res.closedAfterMs).toBeDefined();
    expect(res.closedAfterMs!).toBeGreaterThanOrEqual(1900);
    expect(res.closedAfterMs!).toBeLessThan(5000);
  });

  test("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const res = await exchange(port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", Buffer.alloc(0), {
      chunk: 1,
      everyMs: 10,
      waitMs: 8000,
    });
    expect(res.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(res.closedAfterMs).toBeDefined();
    expect(res.closedAfterMs!).toBeLessThan(3000);
  });
});

test("timeout settings are bounded and consistent", () => {
  expect(readHttpSettings({})).toEqual({
    requestTimeoutMs: 60_000,
    headersTimeoutMs: 10_000,
    keepAliveTimeoutMs: 65_000,
    connectionTimeoutMs: 70_000,
  });
  expect(() => readHttpSettings({ HTTP_REQUEST_TIMEOUT_MS: "0" })).toThrow(
    /^HTTP_REQUEST_TIMEOUT_MS: must be an integer 100-600000 \(got '0'\)$/,
  );
  expect(() => readHttpSettings({ HTTP_REQUEST_TIMEOUT_MS: "1000", HTTP_HEADERS_TIMEOUT_MS: "2000" })).toThrow(SettingsError);
  expect(() => readHttpSettings({ HTTP_REQUEST_TIMEOUT_MS: "1000", HTTP_HEADERS_TIMEOUT_MS: "2000" })).toThrow(
    /^HTTP_HEADERS_TIMEOUT_MS: must be at most HTTP_REQUEST_TIMEOUT_MS/,
  );
});
