// The one body of every 4xx/5xx answer of the service: `{ error, message, requestId, ...details }`.
// `error` is a snake_case kind a client may branch on (bad_request, not_found, unauthorized, ...),
// `message` says what was wrong in words, `requestId` is the request's x-request-id (the log has
// the details under it), and details name what the kind needs (the parameter, the field, the roles).
import type { FastifyReply, FastifyRequest } from "fastify";

export interface ErrorBody {
  error: string;
  message: string;
  requestId: string;
  [detail: string]: unknown;
}

const kindPattern = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** The body for `error` on `request`; details never replace error, message or requestId. */
export function errorBody(request: FastifyRequest, error: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  if (!kindPattern.test(error)) throw new Error(`errorBody: error kind must be snake_case (got '${error}')`);
  return { ...details, error, message, requestId: request.id };
}

/** Sends `status` with the one error body; returns the reply (a hook or handler returns it). */
export function sendError(
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  details: Record<string, unknown> = {},
): FastifyReply {
  if (status < 400 || status > 599) throw new Error(`sendError: status must be 4xx or 5xx (got ${status})`);
  return reply.code(status).send(errorBody(reply.request, error, message, details));
}
