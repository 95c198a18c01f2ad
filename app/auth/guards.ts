import type { RouteOptions } from "fastify";
import type { Role } from "../../contracts/roles";

/** What a request guard checks; every guard hook carries one, so a route's guards can be listed. */
export type GuardInfo =
  | { kind: "authenticate" }
  | { kind: "role"; roles: Role[] }
  | { kind: "reason"; label: string }
  /** POST /api/scim/sync: the shared SCIM_SYNC_TOKEN instead of a user's bearer JWT. */
  | { kind: "sync-token" };

const guardTag = Symbol("maestro.guard");

/** Marks a hook as a guard; returns the hook. */
export function tagGuard<T extends object>(hook: T, info: GuardInfo): T {
  Object.defineProperty(hook, guardTag, { value: Object.freeze(info) });
  return hook;
}

/** The guard a hook was tagged with, if any. */
export function guardOf(hook: unknown): GuardInfo | undefined {
  return typeof hook === "function" ? (hook as { [guardTag]?: GuardInfo })[guardTag] : undefined;
}

/** One registered route and the guards that run before its body is read (onRequest) or after (preHandler). */
export interface RouteGuards {
  method: string;
  url: string;
  /** Guards in onRequest: they run before the body is read. */
  beforeBody: GuardInfo[];
  /** Guards in preValidation / preHandler: they run after the body is parsed (should be none). */
  afterBody: GuardInfo[];
}

const hooksOf = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The guards of a route as Fastify's onRoute hook sees it. */
export function routeGuards(route: RouteOptions): RouteGuards[] {
  const guards = (...values: unknown[]) =>
    values
      .flatMap(hooksOf)
      .map(guardOf)
      .filter((g): g is GuardInfo => g !== undefined);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return methods.map((method) => ({
    method,
    url: route.url,
    beforeBody: guards(route.onRequest),
    afterBody: guards(route.preParsing, route.preValidation, route.preHandler),
  }));
}
