import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDb, ensureDatabase, migrate, MIGRATIONS } from '@agents/db';
import type { Db } from '@agents/db';

/** The server tests run against; the machine's Postgres with trust auth. */
export const TEST_PG_BASE = 'postgres://root@127.0.0.1:5432';

export interface TestDatabase {
  url: string;
  name: string;
  db: Db;
  /** Destroys the pool and drops the database (terminating stray connections). */
  close(): Promise<void>;
}

/** A fresh, migrated database per test file: isolation without cleanup between files. */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const name = `${label}_${randomBytes(6).toString('hex')}`.toLowerCase();
  const url = `${TEST_PG_BASE}/${name}`;
  await ensureDatabase(url);
  await migrate(url, MIGRATIONS);
  const db = createDb({ url, max: 5 });
  return {
    url,
    name,
    db,
    async close() {
      await db.destroy();
      await dropDatabase(name);
    },
  };
}

/** Drops the database `name` on the server at `serverUrl` (no database path), closing its sessions. */
export async function dropDatabase(name: string, serverUrl = TEST_PG_BASE): Promise<void> {
  const admin = new Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
