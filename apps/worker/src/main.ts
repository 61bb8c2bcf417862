import { loadConfigOrExit } from '@agents/config';
import { ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import { runService } from '@agents/observability';
import { startWorker } from './worker';

const config = loadConfigOrExit(process.env);
runService('worker', config, async (logger) => {
  await ensureDatabase(config.databaseUrl);
  await migrate(config.databaseUrl, MIGRATIONS);
  const worker = await startWorker(config, logger);
  return { close: () => worker.close() };
});
