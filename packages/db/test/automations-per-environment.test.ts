/**
 * Migration 0007 against a real Postgres: a tenant's one automation list, which every hook ran
 * whatever its environment, becomes the same list in each environment; the queries then keep the
 * two apart.
 */
import { randomBytes } from 'node:crypto';
import { createDb, ensureDatabase, getAutomations, listAutomationsByEnvironment, migrate, MIGRATIONS, setAutomations } from '@agents/db';
import type { Db } from '@agents/db';
import { dropDatabase, TEST_PG_BASE } from '@agents/testkit';
import { sql } from 'kysely';

const name = `autoenv_${randomBytes(6).toString('hex')}`;
const url = `${TEST_PG_BASE}/${name}`;
let db: Db;
const LIST = [{ on: 'payment.confirmed', steps: [{ tool: 'asaas/get_balance', args: {} }] }];

beforeAll(async () => {
  await ensureDatabase(url);
  await migrate(
    url,
    MIGRATIONS.filter((m) => m.id < '0007'),
  );
  db = createDb({ url, max: 2 });
  // Rows as the previous release wrote them: one list per tenant.
  await sql`INSERT INTO tenants (id, name, servers, limits, plan, automations) VALUES
    ('tenant_with', 'w', '{asaas}', '{}', '{}', ${JSON.stringify(LIST)}::jsonb),
    ('tenant_without', 'wo', '{asaas}', '{}', '{}', '[]'::jsonb)`.execute(db);
  expect(
    await migrate(
      url,
      MIGRATIONS.filter((m) => m.id < '0008'),
    ),
  ).toEqual(['0007-automations-per-environment']);
});

afterAll(async () => {
  await db?.destroy();
  await dropDatabase(name);
});

test('an existing list is kept in both environments (it was in effect in both); an empty one adds no rows', async () => {
  const rows = await db
    .selectFrom('tenant_automations')
    .select(['tenant_id', 'environment', 'automations'])
    .orderBy('tenant_id')
    .orderBy('environment')
    .execute();
  expect(rows).toEqual([
    { tenant_id: 'tenant_with', environment: 'live', automations: LIST },
    { tenant_id: 'tenant_with', environment: 'test', automations: LIST },
  ]);
  expect(await getAutomations(db, 'tenant_without', 'live')).toEqual([]);
});

test('writing one environment leaves the other alone', async () => {
  expect(await setAutomations(db, 'tenant_with', 'test', [])).toEqual([]);
  expect(await setAutomations(db, 'tenant_without', 'test', LIST)).toEqual(LIST);
  const both = await listAutomationsByEnvironment(db, ['tenant_with', 'tenant_without', 'tenant_absent']);
  expect(Object.fromEntries(both)).toEqual({
    tenant_with: { test: [], live: LIST },
    tenant_without: { test: LIST, live: [] },
    tenant_absent: { test: [], live: [] },
  });
});
