// Loopback ports and polling, shared by the test harnesses and the local control plane (tools/cluster),
// and what counts as a loopback host (the service's settings and CLIs allow plain http only there).
import { createServer, isIPv4 } from "node:net";

/** A URL hostname on this machine: localhost, [::1], or any of 127.0.0.0/8 (the host kubelet gives pods 127.R.x.y). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || (isIPv4(hostname) && hostname.startsWith("127."));
}

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
