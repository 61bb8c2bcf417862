import { loadConfig } from '@agents/config';
import { ensureDatabase, migrate, MIGRATIONS } from '@agents/db';

/** `npm run migrate`: creates the database if missing and applies pending migrations (idempotent). */
async function main(): Promise<void> {
  const cmd = process.argv[2] ?? 'migrate';
  if (cmd !== 'migrate') throw new Error(`unknown command "${cmd}" (expected: migrate)`);
  const config = loadConfig(process.env);
  await ensureDatabase(config.databaseUrl);
  const applied = await migrate(config.databaseUrl, MIGRATIONS);
  console.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database is up to date');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
