import { createServer, type Server } from "node:http";
import type { JWK } from "jose" with { "resolution-mode": "import" };

// A real OpenID Provider (node-oidc-provider) on a loopback port: discovery, JWKS, and JWT access
// tokens from the client_credentials grant with a resource indicator. Each client stands for one
// caller; its groups go into the token's `groups` claim.

export const resourceIndicator = "urn:maestro:compliance";
export const audience = "maestro-compliance";

export interface TestClient {
  id: string;
  secret: string;
  groups: string[];
}

export interface RunningProvider {
  issuer: string;
  /** A JWT access token for the client, from POST /token. */
  token(client: TestClient): Promise<string>;
  close(): Promise<void>;
}

/** Private RSA signing keys with kids; the first one signs. */
export async function rsaKey(kid: string): Promise<JWK> {
  const jose = await import("jose");
  const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
}

export async function startProvider(port: number, keys: JWK[], clients: TestClient[]): Promise<RunningProvider> {
  // oidc-provider ships no type declarations; a variable specifier keeps tsc from looking for them.
  const specifier = "oidc-provider";
  const { default: Provider } = (await import(specifier)) as {
    default: new (issuer: string, config: Record<string, unknown>) => { callback(): Parameters<typeof createServer>[1] };
  };
  const issuer = `http://127.0.0.1:${port}`;
  const groupsByClient = new Map(clients.map((c) => [c.id, c.groups]));
  // Its development-adapter warning is expected here; other warnings still show.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => (String(args[0]).startsWith("oidc-provider WARNING") ? undefined : warn(...args));
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      scope: "compliance",
    })),
    scopes: ["openid", "compliance"],
    jwks: { keys },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resourceIndicator,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: "compliance",
          audience,
          accessTokenTTL: 300,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { clientId?: string }) => ({ groups: groupsByClient.get(token.clientId ?? "") ?? [] }),
  });
  console.warn = warn;
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    async token(client) {
      const res = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString("base64")}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", scope: "compliance", resource: resourceIndicator }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(`token request failed: ${res.status} ${body.error}: ${body.error_description}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
