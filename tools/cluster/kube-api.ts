// A small client of the local control plane's REST API (admin certificate): JSON requests and
// watches, for the harness components written in TypeScript (the host-process kubelet, the
// rollout scenarios' samplers). kubectl stays the tool for applying objects.
import { request } from "node:https";
import type { ControlPlane } from "./control-plane";
import { MaestroError } from "../../lib/errors";

/** A request the API server answered with a status other than 2xx. */
export class KubeApiError extends MaestroError<"KUBE_API_FAILED"> {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super("KUBE_API_FAILED", `${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

/** One event of a watch stream. */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

interface Listed<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export class KubeApi {
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };

  constructor(private readonly cluster: ControlPlane) {
    this.tls = cluster.adminTls();
  }

  /** A JSON request; rejects with KubeApiError on a non-2xx answer. */
  send<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, this.cluster.state.server),
        {
          method,
          ...this.tls,
          timeout: 10_000,
          // An explicit length: Node frames no body of a DELETE (chunked is off for it), so the
          // API server would read the body as the connection's next request.
          headers: {
            accept: "application/json",
            ...(payload ? { "content-type": contentType, "content-length": Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) reject(new KubeApiError(method, path, status, text));
            else resolve((text ? JSON.parse(text) : undefined) as T);
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  get<T>(path: string): Promise<T> {
    return this.send<T>("GET", path);
  }

  /** GET that answers undefined for a 404. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Lists `path` and then watches it from the list's resourceVersion, calling `onEvent` for every
   * listed item (as ADDED) and every change; re-lists when the stream ends or expires (410).
   * Returns a function that stops the watch.
   */
  watch<T>(path: string, onEvent: (event: WatchEvent<T>) => void, onError: (err: Error) => void = () => {}): () => void {
    let stopped = false;
    let current: { destroy(): void } | undefined;
    const sep = path.includes("?") ? "&" : "?";
    const loop = async () => {
      while (!stopped) {
        try {
          const list = await this.get<Listed<T>>(path);
          for (const item of list.items) onEvent({ type: "ADDED", object: item });
          await this.stream<T>(
            `${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`,
            onEvent,
            (r) => {
              current = r;
            },
          );
        } catch (err) {
          if (!stopped) onError(err as Error);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 200));
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  private stream<T>(path: string, onEvent: (event: WatchEvent<T>) => void, onRequest: (r: { destroy(): void }) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.cluster.state.server), { ...this.tls, headers: { accept: "application/json" } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new KubeApiError("WATCH", path, res.statusCode ?? 0, ""));
          return;
        }
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            // An expired resourceVersion (410 Gone) arrives as an ERROR event: list again.
            if (event.type === "ERROR") {
              req.destroy();
              resolve();
              return;
            }
            if (event.type !== "BOOKMARK") onEvent(event);
          }
        });
        res.on("end", () => resolve());
        res.on("error", () => resolve());
      });
      req.on("error", (err) => ((err as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve() : reject(err)));
      onRequest(req);
      req.end();
    });
  }
}
