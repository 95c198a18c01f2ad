import type { ControlResult, FrameworkSummary } from "../../compliance/types";

export type { ControlResult, FrameworkSummary };

export interface ControlsResponse {
  generatedAt: string;
  service: { name: string; environment: string };
  filters: { framework: string | null; status: string | null };
  summary: FrameworkSummary[];
  total: number;
  controls: ControlResult[];
}

/** An API answer that is not 2xx; `status` decides the page state (401 → sign in). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const tokenKey = "maestro.token";
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(tokenKey),
  set: (token: string) => sessionStorage.setItem(tokenKey, token),
  clear: () => sessionStorage.removeItem(tokenKey),
};

/** GET with the session's bearer token (behind the OIDC gateway the gateway adds its own). */
export async function apiFetch(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const token = tokenStore.get();
  const res = await fetch(path, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { message?: string };
      if (body.message) message = body.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

export async function apiJson<T>(path: string, headers?: Record<string, string>): Promise<T> {
  return (await (await apiFetch(path, headers)).json()) as T;
}

/**
 * A header value that carries text as its UTF-8 bytes (the service reads x-rfa as UTF-8; fetch
 * would send "ü" as the single latin1 byte 0xFC).
 */
export function utf8Header(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join("");
}

/** Downloads an API answer as a file (a fetch, so the bearer token goes with it). */
export async function download(path: string, fallbackName: string, headers?: Record<string, string>): Promise<Blob> {
  const res = await apiFetch(path, headers);
  const blob = await res.blob();
  const disposition = res.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob;
}

/** "3 h", "12 d" */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
