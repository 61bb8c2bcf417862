import { Client } from 'pg';

export interface Migration {
  /** Sortable and never renamed once shipped. */
  id: string;
  sql: string;
}

/** Arbitrary but fixed: every process migrating this database takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 7_246_118_001;

/**
 * Applies pending migrations in order, each in its own transaction. Safe to run from any number
 * of processes at once: a session-level advisory lock serialises them and the second one finds
 * nothing left to do. Applied ids this release does not know are ignored: during a rolling
 * deploy old processes boot against a database the new release already migrated. That is why
 * this is not kysely's Migrator, which fails on such "missing" migrations (and on out-of-order
 * ones unless allowUnorderedMigrations).
 */
export async function migrate(databaseUrl: string, migrations: readonly Migration[]): Promise<string[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ id: string }>('SELECT id FROM schema_migrations');
    const done = new Set(rows.map((r) => r.id));
    for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
  return applied;
}

/** Creates the database named in the URL if it does not exist (API.md: "created if missing"). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[a-zA-Z0-9_-]{1,63}$/.test(name)) throw new Error(`DATABASE_URL names an invalid database "${name}"`);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name}"`).catch((err: { code?: string }) => {
        // 42P04 duplicate_database / 23505: another process created it first.
        if (err.code !== '42P04' && err.code !== '23505') throw err;
      });
    }
  } finally {
    await client.end();
  }
}
