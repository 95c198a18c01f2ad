import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

// A SCIM 2.0 service provider on a loopback port, built on scimmy: /Users and /Groups with
// filters, pagination and attribute selection done by scimmy, per-group ETags (meta.version,
// If-None-Match → 304), bearer authentication. Tests change the directory the way an IdP admin
// would, through the returned store; `corrupt` makes the next responses malformed on purpose.

export interface ScimStore {
  users: Map<string, { id: string; userName: string; externalId?: string; active: boolean }>;
  groups: Map<string, { id: string; displayName: string; members: string[]; version: number }>;
}

export interface RunningScimServer {
  endpoint: string;
  store: ScimStore;
  /** Requests served, by path prefix. */
  hits: { users: number; groups: number; groupReads: number; notModified: number };
  /** Rewrites every ListResponse / resource body before it is sent; undefined restores. */
  corrupt(fn: ((path: string, body: Record<string, unknown>) => Record<string, unknown>) | undefined): void;
  addUser(id: string, userName: string, active?: boolean): void;
  addGroup(id: string, displayName: string, members?: string[]): void;
  setMembers(groupId: string, members: string[]): void;
  rename(groupId: string, displayName: string): void;
  close(): Promise<void>;
}

type Scimmy = {
  Resources: Record<string, unknown> & {
    declare(r: unknown): unknown;
    User: ScimResource;
    Group: ScimResource;
  };
  Types: { Error: new (...args: unknown[]) => Error & { status: number } };
};
type ScimResource = {
  new (id?: unknown, config?: unknown): { read(): Promise<Record<string, unknown>> };
  basepath(p: string): ScimResource;
  egress(fn: (resource: { id?: string; filter?: { match(v: unknown[]): unknown[] } }) => unknown): ScimResource;
};

export async function startScimServer(port: number, token: string): Promise<RunningScimServer> {
  const specifier = "scimmy";
  const { default: SCIMMY } = (await import(specifier)) as { default: Scimmy };
  const store: ScimStore = { users: new Map(), groups: new Map() };
  const hits = { users: 0, groups: 0, groupReads: 0, notModified: 0 };
  let corruptor: ((path: string, body: Record<string, unknown>) => Record<string, unknown>) | undefined;
  const endpoint = `http://127.0.0.1:${port}/scim/v2`;
  const userView = () => [...store.users.values()].map((u) => ({ ...u, meta: { created: new Date(0), lastModified: new Date(0) } }));
  const etagOf = (g: { version: number; id: string }) => `W/"${g.id}-${g.version}"`;
  const groupView = () =>
    [...store.groups.values()].map((g) => ({
      id: g.id,
      displayName: g.displayName,
      members: g.members.map((value) => ({ value, type: "User" })),
      meta: { created: new Date(0), lastModified: new Date(0), version: etagOf(g) },
    }));
  const pick = (resource: { id?: string; filter?: { match(v: unknown[]): unknown[] } }, items: unknown[]) =>
    resource.filter ? resource.filter.match(items) : items;
  // scimmy's resources are module-level singletons: (re)declare handlers for this server.
  if (!SCIMMY.Resources.User.basepath) throw new Error("unexpected scimmy API");
  try {
    SCIMMY.Resources.declare(SCIMMY.Resources.User);
    SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  } catch {
    // already declared by an earlier server in this process
  }
  SCIMMY.Resources.User.basepath(endpoint).egress((r) => pick(r, userView()));
  SCIMMY.Resources.Group.basepath(endpoint).egress((r) => pick(r, groupView()));

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/scim+json", ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { detail: "bad token" });
    const url = new URL(req.url ?? "/", endpoint);
    const path = url.pathname.replace(/^\/scim\/v2/, "");
    const params: Record<string, unknown> = {};
    for (const [k, v] of url.searchParams) params[k] = k === "startIndex" || k === "count" ? Number(v) : v;
    try {
      let body: Record<string, unknown>;
      const headers: Record<string, string> = {};
      if (path === "/Users") {
        hits.users++;
        body = await new SCIMMY.Resources.User(params).read();
      } else if (path === "/Groups") {
        hits.groups++;
        body = await new SCIMMY.Resources.Group(params).read();
      } else if (path.startsWith("/Groups/")) {
        hits.groupReads++;
        const id = decodeURIComponent(path.slice("/Groups/".length));
        const group = store.groups.get(id);
        if (!group) return send(res, 404, { detail: `group ${id} not found` });
        headers.etag = etagOf(group);
        if (req.headers["if-none-match"] === headers.etag) {
          hits.notModified++;
          return send(res, 304, undefined, headers);
        }
        body = await new SCIMMY.Resources.Group(id, params).read();
      } else return send(res, 404, { detail: "not found" });
      body = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
      send(res, 200, corruptor ? corruptor(path, body) : body, headers);
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      send(res, status, { detail: (err as Error).message });
    }
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    endpoint,
    store,
    hits,
    corrupt: (fn) => (corruptor = fn),
    addUser: (id, userName, active = true) => void store.users.set(id, { id, userName, active }),
    addGroup: (id, displayName, members = []) => void store.groups.set(id, { id, displayName, members, version: 1 }),
    setMembers(groupId, members) {
      const g = store.groups.get(groupId);
      if (!g) throw new Error(`no group ${groupId}`);
      g.members = members;
      g.version++;
    },
    rename(groupId, displayName) {
      const g = store.groups.get(groupId);
      if (!g) throw new Error(`no group ${groupId}`);
      g.displayName = displayName;
      g.version++;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
