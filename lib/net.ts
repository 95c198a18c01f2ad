// Loopback ports and polling, shared by the test harnesses and the local control plane (tools/cluster).
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (bound, then released, so a child process can take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Polls fn until it returns true, or throws after timeoutMs with the label. */
export async function waitFor(label: string, fn: () => Promise<boolean>, timeoutMs = 20000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}
