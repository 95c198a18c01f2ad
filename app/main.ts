// `npm run app`: the compliance service with embedded defaults (PGlite and files under .data/).
import { buildService } from "./server";
import { readServiceSettings, SettingsError } from "./settings";

async function main(): Promise<void> {
  const settings = readServiceSettings();
  const service = await buildService(settings);
  const shutdown = async (signal: string) => {
    service.server.log.info({ signal }, "shutting down");
    await service.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
  // SIGHUP re-reads the policy bundle (a rotated bundle without a restart); the runtime logs and
  // audits the outcome, and a refused bundle leaves the one in force.
  process.on("SIGHUP", () => {
    service.context.policy.reload().then(
      (outcome) => service.server.log.info({ signal: "SIGHUP", outcome }, "policy bundle reload"),
      (err: unknown) => service.server.log.error({ signal: "SIGHUP", err }, "policy bundle reload failed"),
    );
  });
  await service.server.listen({ port: settings.port, host: settings.host });
}

main().catch((err: unknown) => {
  const message =
    err instanceof SettingsError ? `refusing to start: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: message })}\n`);
  process.exit(1);
});
