// Loopback ports and polling, shared by the test harnesses and the local control plane (tools/cluster),
// and what counts as a loopback host (the service's settings and CLIs allow plain http only there).
import { readFileSync } from "node:fs";
import { createServer, isIPv4 } from "node:net";

/** A URL hostname on this machine: localhost, [::1], or any of 127.0.0.0/8 (the host kubelet gives pods 127.R.x.y). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || (isIPv4(hostname) && hostname.startsWith("127."));
}

// Ports handed to child processes come from below the kernel's ephemeral range. A port in that range
// can be taken, between its release here and the child's bind, by any outgoing connection on the
// machine: under a loaded `npm test` a kube-apiserver once failed "bind: address already in use"
// that way. Below it only another listener given a port by this same function can race, so picks are
// random over the whole range, and one process never hands out a port twice.
const portFloor = 20000;
const handedOut = new Set<number>();

/** The lowest port of the kernel's ephemeral range (Linux's setting; 32768 where it cannot be read). */
export function ephemeralLow(read: () => string = () => readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")): number {
  try {
    const low = Number(read().trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

function bindable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : undefined));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1 for a child process to listen on: bound and released, never one of the
 * ephemeral ports outgoing connections take, and never one this process has handed out before.
 */
export async function freePort(): Promise<number> {
  const top = ephemeralLow();
  if (top - portFloor >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = portFloor + Math.floor(Math.random() * (top - portFloor));
      if (handedOut.has(port)) continue;
      if ((await bindable(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  // A machine whose ephemeral range starts low (or whose low ports are all taken): the kernel's pick.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindable(0);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free TCP port on 127.0.0.1");
}

/** Thrown by a waitFor probe when what it waits for can no longer happen (the process serving it exited). */
export class WaitAbandoned extends Error {}

/** Polls fn until it returns true, or throws after timeoutMs with the label. */
export async function waitFor(label: string, fn: () => Promise<boolean>, timeoutMs = 20000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (err) {
      if (err instanceof WaitAbandoned) throw new Error(`gave up waiting for ${label}: ${err.message}`);
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}
