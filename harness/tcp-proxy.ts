import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../lib/net";

/**
 * A loopback TCP relay in front of a server, so a test can cut the network between the service
 * and its database the way a partition does: open connections die, new ones get no answer.
 */
export interface TcpProxy {
  readonly port: number;
  /** Resets every open connection (as a failing-over node does) and leaves new ones unanswered. */
  cut(): void;
  /** Relays again: connections held while cut are dropped (their clients gave up), new ones pass. */
  heal(): void;
  /**
   * The next time a client sends a message containing `marker` (e.g. a simple-query COMMIT), the
   * message reaches the server, then after `afterMs` that connection is reset before its answer
   * comes back: "it may or may not have happened", deterministically.
   */
  loseAnswerTo(marker: Buffer, afterMs?: number): Promise<void>;
  /** cut(), wait ms, heal(). */
  unreachableFor(ms: number): Promise<void>;
  readonly isCut: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  let cut = false;
  let trap: { marker: Buffer; afterMs: number; sprung: () => void } | undefined;
  const server: Server = createServer((client) => {
    client.on("error", () => undefined);
    if (cut) {
      // A partition: the connection is accepted by no one; the client's connect timeout decides.
      held.add(client);
      client.once("close", () => held.delete(client));
      client.pause();
      return;
    }
    const upstream = connect(target.port, target.host);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    open.add(client);
    open.add(upstream);
    const forget = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.once("close", forget);
    upstream.once("close", forget);
    let answering = true;
    client.on("data", (chunk: Buffer) => {
      const t = trap;
      if (t && chunk.includes(t.marker)) {
        trap = undefined;
        upstream.write(chunk); // the server gets it and acts on it ...
        answering = false; // ... but nothing it says comes back
        setTimeout(() => {
          forget();
          t.sprung();
        }, t.afterMs);
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (answering) client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const proxy: TcpProxy = {
    port,
    cut() {
      cut = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    heal() {
      cut = false;
      for (const s of held) s.destroy();
      held.clear();
    },
    loseAnswerTo(marker, afterMs = 300) {
      return new Promise<void>((resolve) => (trap = { marker, afterMs, sprung: resolve }));
    },
    async unreachableFor(ms) {
      proxy.cut();
      await new Promise((r) => setTimeout(r, ms));
      proxy.heal();
    },
    get isCut() {
      return cut;
    },
    async close() {
      for (const s of [...open, ...held]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
