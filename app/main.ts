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
  await service.server.listen({ port: settings.port, host: settings.host });
}

main().catch((err: unknown) => {
  const message =
    err instanceof SettingsError ? `refusing to start: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: message })}\n`);
  process.exit(1);
});
