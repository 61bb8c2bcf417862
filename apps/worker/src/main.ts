import { loadConfig } from '@agents/config';
import { ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import { createLogger } from '@agents/observability';
import { startWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({ name: 'worker', level: config.logLevel, pretty: config.nodeEnv === 'development' && process.stdout.isTTY === true });
  for (const w of config.warnings) logger.warn(w);
  await ensureDatabase(config.databaseUrl);
  await migrate(config.databaseUrl, MIGRATIONS);
  const worker = await startWorker(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Hard deadline: a stuck close must not keep the process past its grace period.
    setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000).unref();
    worker.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
