// The directory as the sync sees it, and its validation: every malformed field is named.
import { MaestroError } from "../../lib/errors";

/** A SCIM response (or pushed snapshot) that does not have the shape the sync needs. */
export class ScimResponseError extends MaestroError<"SCIM_RESPONSE_MALFORMED"> {
  constructor(
    /** Where: the request or document, e.g. "GET /Groups?startIndex=1". */
    readonly source: string,
    /** The field path, e.g. "Resources[2].displayName". */
    readonly field: string,
    detail: string,
  ) {
    super("SCIM_RESPONSE_MALFORMED", `${source}: ${field} ${detail}`);
  }
}

export interface DirectoryUser {
  id: string;
  userName: string;
  externalId?: string;
  /** SCIM `active`; absent counts as true. */
  active: boolean;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  /** Member user ids. */
  members: string[];
  /** The group's ETag (HTTP ETag or meta.version), when the IdP offers one. */
  etag?: string;
}

/** Users, and the groups that the mapping names, as of one sync run. */
export interface DirectorySnapshot {
  users: DirectoryUser[];
  groups: DirectoryGroup[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyString(source: string, field: string, v: unknown): string {
  if (typeof v !== "string" || v.trim() === "")
    throw new ScimResponseError(source, field, `must be a non-empty string (got ${JSON.stringify(v) ?? "nothing"})`);
  return v;
}

export function parseUser(source: string, path: string, v: unknown): DirectoryUser {
  if (!isObject(v)) throw new ScimResponseError(source, path, "must be an object");
  const user: DirectoryUser = {
    id: nonEmptyString(source, `${path}.id`, v.id),
    userName: nonEmptyString(source, `${path}.userName`, v.userName),
    active: true,
  };
  if (v.externalId !== undefined && v.externalId !== null) user.externalId = nonEmptyString(source, `${path}.externalId`, v.externalId);
  if (v.active !== undefined) {
    if (typeof v.active !== "boolean")
      throw new ScimResponseError(source, `${path}.active`, `must be a boolean (got ${JSON.stringify(v.active)})`);
    user.active = v.active;
  }
  return user;
}

export function parseGroup(source: string, path: string, v: unknown, withMembers: boolean): DirectoryGroup {
  if (!isObject(v)) throw new ScimResponseError(source, path, "must be an object");
  const group: DirectoryGroup = {
    id: nonEmptyString(source, `${path}.id`, v.id),
    displayName: nonEmptyString(source, `${path}.displayName`, v.displayName),
    members: [],
  };
  if (withMembers && v.members !== undefined) {
    if (!Array.isArray(v.members)) throw new ScimResponseError(source, `${path}.members`, "must be an array");
    v.members.forEach((m, i) => {
      if (!isObject(m)) throw new ScimResponseError(source, `${path}.members[${i}]`, "must be an object");
      // Nested groups are not expanded: only direct user members get roles.
      if (m.type !== undefined && m.type !== "User") return;
      group.members.push(nonEmptyString(source, `${path}.members[${i}].value`, m.value));
    });
  }
  const meta = v.meta;
  if (isObject(meta) && typeof meta.version === "string" && meta.version !== "") group.etag = meta.version;
  return group;
}

/** Validates a snapshot pushed to POST /api/scim/sync (the same shape the client builds). */
export function parseSnapshot(v: unknown): DirectorySnapshot {
  const source = "snapshot";
  if (!isObject(v)) throw new ScimResponseError(source, "(root)", "must be an object with users and groups");
  if (!Array.isArray(v.users)) throw new ScimResponseError(source, "users", "must be an array");
  if (!Array.isArray(v.groups)) throw new ScimResponseError(source, "groups", "must be an array");
  const users = v.users.map((u, i) => parseUser(source, `users[${i}]`, u));
  const groups = v.groups.map((g, i) => {
    const group = parseGroup(source, `groups[${i}]`, g, false);
    const members = (g as Json).members;
    if (!Array.isArray(members)) throw new ScimResponseError(source, `groups[${i}].members`, "must be an array of user ids");
    group.members = members.map((m, j) => nonEmptyString(source, `groups[${i}].members[${j}]`, m));
    const etag = (g as Json).etag;
    if (etag !== undefined) group.etag = nonEmptyString(source, `groups[${i}].etag`, etag);
    return group;
  });
  checkUnique(source, "users", users);
  checkUnique(source, "groups", groups);
  return { users, groups };
}

export function checkUnique(source: string, field: string, items: Array<{ id: string }>): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) throw new ScimResponseError(source, `${field}[${i}].id`, `duplicates id '${item.id}'`);
    seen.add(item.id);
  });
}
