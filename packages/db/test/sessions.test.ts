/**
 * Session rows: the idle deadline moves on each call but never past the hard limit, a closed or
 * expired session is not touched, close is idempotent, and a session call's answer and usage row
 * are stored once however many times a worker finishes it.
 */
import { sql } from 'kysely';
import {
  closeSession,
  countSessionToolCalls,
  finishSessionCall,
  getSession,
  getSessionCall,
  insertSession,
  insertSessionCall,
  insertTenant,
  newId,
  touchSession,
} from '@agents/db';
import type { NewUsageEvent, SessionCallResult } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

beforeAll(async () => {
  tdb = await createTestDatabase('sessions');
  await insertTenant(tdb.db, { id: 'tenant_ses', name: 'S', servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
});

afterAll(async () => {
  await tdb?.close();
});

async function newSession(hardInMs: number, idleInMs = 60_000) {
  const now = Date.now();
  return insertSession(tdb.db, {
    id: newId('ses'),
    tenant_id: 'tenant_ses',
    environment: 'test',
    user_id: 'tenant_ses',
    servers: ['asaas'],
    metadata: { tenant_id: 'tenant_ses', order: 'A-1' },
    created_at: new Date(now),
    expires_at: new Date(now + Math.min(idleInMs, hardInMs)),
    hard_expires_at: new Date(now + hardInMs),
  });
}

test('a call moves the idle deadline, capped by the hard limit', async () => {
  const s = await newSession(3_600_000, 1_000);
  const touched = await touchSession(tdb.db, s.id, 600_000);
  expect(touched!.expires_at.getTime()).toBeGreaterThan(s.expires_at.getTime());
  const capped = await touchSession(tdb.db, s.id, 48 * 3_600_000);
  expect(capped!.expires_at.getTime()).toBe(capped!.hard_expires_at.getTime());
  expect(s.metadata).toEqual({ tenant_id: 'tenant_ses', order: 'A-1' });
  expect(s.servers).toEqual(['asaas']);
});

test('an expired or closed session is not touched; close is idempotent', async () => {
  const s = await newSession(3_600_000);
  await tdb.db
    .updateTable('sessions')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('id', '=', s.id)
    .execute();
  expect(await touchSession(tdb.db, s.id, 600_000)).toBeUndefined();

  const c = await newSession(3_600_000);
  await closeSession(tdb.db, c.id);
  const first = (await getSession(tdb.db, c.id))!.closed_at;
  expect(first).toBeInstanceOf(Date);
  await closeSession(tdb.db, c.id);
  expect((await getSession(tdb.db, c.id))!.closed_at).toEqual(first);
  expect(await touchSession(tdb.db, c.id, 600_000)).toBeUndefined();
});

test('a session call is answered and metered once', async () => {
  const s = await newSession(3_600_000);
  const id = newId('tc');
  await insertSessionCall(tdb.db, {
    id,
    session_id: s.id,
    tenant_id: 'tenant_ses',
    environment: 'test',
    server: 'asaas',
    tool: 'create_payment',
    input: { value: 50 },
  });
  const answer = (success: boolean): SessionCallResult => ({
    success,
    data: success ? { id: 'pay_1', note: 'nul\u0000 and \ud800' } : null,
    error: success ? null : 'second run',
    error_code: success ? null : 'provider_error',
    duration: 3,
    server: 'asaas',
    tool: 'create_payment',
    tool_call_id: id,
    called_at: new Date().toISOString(),
  });
  const usage = {
    id,
    idempotency_key: `session-call:${id}`,
    tenant_id: 'tenant_ses',
    environment: 'test',
    job_id: null,
    session_id: s.id,
    kind: 'tool_call',
    server: 'asaas',
    tool: 'create_payment',
    success: true,
    denied: false,
    error_code: null,
    duration_ms: 3,
    metadata: JSON.stringify(s.metadata),
  } as NewUsageEvent;
  const first = await finishSessionCall(tdb.db, id, answer(true), usage);
  const second = await finishSessionCall(tdb.db, id, answer(false), usage);
  expect(second).toEqual(first);
  expect(first).toMatchObject({ success: true, data: { note: 'nul\ufffd and \ufffd' } });
  expect((await getSessionCall(tdb.db, id))!.result).toEqual(first);
  expect(await countSessionToolCalls(tdb.db, s.id)).toBe(1);
});
