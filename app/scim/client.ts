import { checkUnique, parseGroup, parseUser, ScimResponseError, type DirectoryGroup, type DirectorySnapshot } from "./snapshot";
import { MaestroError } from "../../lib/errors";

const listResponseSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/** The IdP could not be asked (network, HTTP status); the run fails and changes nothing. */
export class ScimRequestError extends MaestroError<"SCIM_REQUEST_FAILED"> {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super("SCIM_REQUEST_FAILED", `${source}: ${detail}`);
  }
}

export interface ScimClientOptions {
  /** Base URL of the IdP's SCIM 2.0 API, e.g. https://idp.example/scim/v2. */
  endpoint: string;
  /** Bearer token for the SCIM API (from the `scim` Secret). */
  token: string;
  /** Resources per page. @default 100 */
  pageSize?: number;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number;
  /** Upper bound on pages per listing, so a misbehaving IdP cannot loop us. @default 1000 */
  maxPages?: number;
}

/** What the previous run stored per group, for If-None-Match. */
export type GroupCache = ReadonlyMap<string, { etag: string; members: string[] }>;

export interface FetchStats {
  requests: number;
  /** Group member lists answered 304 Not Modified (ETag hit). */
  notModified: number;
}

/** SCIM filter for the mapped group names: `displayName eq "a" or displayName eq "b"`. */
export function displayNameFilter(names: readonly string[]): string {
  return names.map((n) => `displayName eq ${JSON.stringify(n)}`).join(" or ");
}

/**
 * A SCIM 2.0 client that reads what the sync needs: every user (paged), and the groups whose
 * names the mapping knows (filtered server-side), each group's members fetched with
 * If-None-Match when the previous run saw an ETag.
 */
export class ScimClient {
  private readonly base: string;
  private readonly pageSize: number;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  readonly stats: FetchStats = { requests: 0, notModified: 0 };

  constructor(private readonly options: ScimClientOptions) {
    this.base = options.endpoint.replace(/\/+$/, "");
    this.pageSize = options.pageSize ?? 100;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxPages = options.maxPages ?? 1000;
  }

  private async get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; etag?: string }> {
    const source = `GET ${path}`;
    this.stats.requests++;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        headers: { accept: "application/scim+json, application/json", authorization: `Bearer ${this.options.token}`, ...headers },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      // undici says "fetch failed" and keeps the reason (ECONNREFUSED, a TLS error, ...) in cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ScimRequestError(source, `request failed: ${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ""}`);
    }
    if (res.status === 304) return { status: 304, body: undefined, etag: res.headers.get("etag") ?? undefined };
    const text = await res.text();
    if (!res.ok) throw new ScimRequestError(source, `answered ${res.status}: ${text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ScimResponseError(source, "(body)", "is not JSON");
    }
    return { status: res.status, body, etag: res.headers.get("etag") ?? undefined };
  }

  /** Every page of a listing; checks ListResponse fields and that pagination adds up. */
  private async list(
    resource: "Users" | "Groups",
    params: Record<string, string>,
  ): Promise<Array<{ source: string; path: string; value: unknown }>> {
    const items: Array<{ source: string; path: string; value: unknown }> = [];
    let startIndex = 1;
    for (let page = 0; page < this.maxPages; page++) {
      const query = new URLSearchParams({ ...params, startIndex: String(startIndex), count: String(this.pageSize) });
      const path = `/${resource}?${query.toString()}`;
      const source = `GET ${path}`;
      const { body } = await this.get(path);
      if (typeof body !== "object" || body === null) throw new ScimResponseError(source, "(body)", "must be a ListResponse object");
      const list = body as Record<string, unknown>;
      if (!Array.isArray(list.schemas) || !list.schemas.includes(listResponseSchema))
        throw new ScimResponseError(source, "schemas", `must include ${listResponseSchema}`);
      const total = list.totalResults;
      if (typeof total !== "number" || !Number.isInteger(total) || total < 0)
        throw new ScimResponseError(source, "totalResults", `must be a non-negative integer (got ${JSON.stringify(total)})`);
      const resources = list.Resources ?? [];
      if (!Array.isArray(resources)) throw new ScimResponseError(source, "Resources", "must be an array");
      resources.forEach((value, i) => items.push({ source, path: `Resources[${i}]`, value }));
      if (resources.length === 0 || items.length >= total) {
        if (items.length < total) throw new ScimResponseError(source, "Resources", `ended after ${items.length} of totalResults ${total}`);
        return items;
      }
      startIndex += resources.length;
    }
    throw new ScimRequestError(`GET /${resource}`, `more than ${this.maxPages} pages of ${this.pageSize}; raise maxPages or pageSize`);
  }

  /** Reads the directory; throws ScimResponseError naming the field on any malformed response. */
  async fetchSnapshot(groupNames: readonly string[], cache: GroupCache = new Map()): Promise<DirectorySnapshot> {
    const users = (await this.list("Users", { attributes: "userName,externalId,active" })).map((i) => parseUser(i.source, i.path, i.value));
    checkUnique("GET /Users", "Resources", users);
    if (groupNames.length === 0) return { users, groups: [] };
    const listed = (await this.list("Groups", { filter: displayNameFilter(groupNames), excludedAttributes: "members" })).map((i) =>
      parseGroup(i.source, i.path, i.value, false),
    );
    checkUnique("GET /Groups", "Resources", listed);
    const groups: DirectoryGroup[] = [];
    for (const g of listed) {
      // The filter is the server's; the mapping is ours: keep only exact names.
      if (!groupNames.includes(g.displayName)) continue;
      groups.push(await this.fetchMembers(g, cache.get(g.id)));
    }
    return { users, groups };
  }

  private async fetchMembers(group: DirectoryGroup, cached: { etag: string; members: string[] } | undefined): Promise<DirectoryGroup> {
    const path = `/Groups/${encodeURIComponent(group.id)}?attributes=displayName,members`;
    const res = await this.get(path, cached ? { "if-none-match": cached.etag } : {});
    if (res.status === 304) {
      if (!cached) throw new ScimResponseError(`GET ${path}`, "(status)", "304 Not Modified without If-None-Match");
      this.stats.notModified++;
      return { ...group, members: cached.members, etag: cached.etag };
    }
    const full = parseGroup(`GET ${path}`, "(body)", res.body, true);
    if (full.id !== group.id) throw new ScimResponseError(`GET ${path}`, "id", `is '${full.id}', expected '${group.id}'`);
    const etag = res.etag ?? full.etag;
    // The listing's name wins over a racing rename between the two requests: next run catches up.
    return { id: group.id, displayName: group.displayName, members: full.members, ...(etag ? { etag } : {}) };
  }
}
