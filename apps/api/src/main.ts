import { loadConfig } from '@agents/config';
import { ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import { createLogger } from '@agents/observability';
import { startApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'api', level: config.logLevel, pretty: config.nodeEnv === 'development' && process.stdout.isTTY === true });
  for (const w of config.warnings) logger.warn(w);
  // Migrations at start-up are idempotent and serialised by an advisory lock across processes.
  await ensureDatabase(config.databaseUrl);
  await migrate(config.databaseUrl, MIGRATIONS);
  const api = await startApi(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000).unref();
    api.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
