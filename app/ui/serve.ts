import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";

/** Where the built page lives (npm run ui:build writes it; the image copies it). */
export const defaultUiDist = join(__dirname, "dist");

/** Same-origin only: the page loads its own script and style and talks to its own API. */
const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Serves the ComplianceBoard at /. The page itself is public (it holds no data); everything it
 * shows comes from the guarded API. Without a build, / says how to make one (503).
 */
export async function registerUi(server: FastifyInstance, dist = defaultUiDist): Promise<void> {
  if (!existsSync(join(dist, "index.html"))) {
    server.get("/", async (_req, reply) =>
      reply.code(503).type("text/plain; charset=utf-8").send(`ComplianceBoard is not built (${dist} is missing): run npm run ui:build\n`),
    );
    return;
  }
  await server.register(fastifyStatic, {
    root: dist,
    prefix: "/",
    index: ["index.html"],
    wildcard: false,
    setHeaders: (res, path) => {
      res.setHeader("content-security-policy", contentSecurityPolicy);
      res.setHeader("x-content-type-options", "nosniff");
      res.setHeader("referrer-policy", "no-referrer");
      // Hashed asset names never change content; index.html must be re-read on each visit.
      res.setHeader("cache-control", path.includes(`${join("dist", "assets")}`) ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
}
