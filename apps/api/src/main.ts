import { loadConfigOrExit } from '@agents/config';
import { ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import { runService } from '@agents/observability';
import { startApi } from './server';

const config = loadConfigOrExit(process.env);
runService('api', config, async (logger) => {
  // Migrations at start-up are idempotent and serialised by an advisory lock across processes.
  await ensureDatabase(config.databaseUrl);
  await migrate(config.databaseUrl, MIGRATIONS);
  return startApi(config, logger);
});
