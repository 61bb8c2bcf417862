/**
 * insertJobs (the API's batched job intake) writes its batch as one JSON parameter
 * (json_populate_recordset). The rows it stores must be exactly the rows the one-job path
 * (`insertJob`, kysely VALUES with one parameter per column) stores, whatever the values; and one
 * job whose data Postgres refuses must not fail the other jobs of its batch. Real Postgres.
 */
import { insertJob, insertJobs, insertTenant, newId } from '@agents/db';
import type { Job, NewJob } from '@agents/db';
import { createTestDatabase, jobRow } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;

const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

beforeAll(async () => {
  tdb = await createTestDatabase('insjobs');
  for (const id of ['tenant_a', 'tenant_b']) {
    await insertTenant(tdb.db, { id, name: id, servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
  }
});
afterAll(() => tdb.close());

/** A job row of tenant_a as the API's route builds it, with overrides. */
const jobOf = (over: Partial<NewJob> = {}): NewJob => jobRow('tenant_a', over);

/** What a row says apart from its identity and insertion time. */
const content = (row: Job) => {
  const { id: _id, created_at: _c, ...rest } = row;
  return rest;
};

const awkward = [
  'plain',
  'quotes " and \' and backslash \\ and \\" and \\\\u0041',
  'newline\nand tab\t and cr\r and bell \u0007 and escape \u001b',
  'unicode é ç ã 漢字 and emoji 😀 and a joiner 👩‍💻 and U+FFFF \uffff and U+2028 \u2028',
  'sql -- comment; drop table jobs; $1 $$ ) , json_populate_recordset',
  'a lone surrogate \ud800 in the middle',
  '',
];

test('rows written in one batch are the rows the one-job path writes, for awkward text, JSON, arrays and nulls', async () => {
  const variants: Partial<NewJob>[] = awkward.flatMap((text, i) => [
    { type: 'agent', steps: null, input: text || 'x', model: text, callback_url: `https://example.test/${i}/${text}`, max_iterations: i + 1 },
    {
      // Postgres refuses a lone surrogate's JSON escape in jsonb on either path: text columns only.
      ...(text.includes('\ud800') ? {} : { metadata: JSON.stringify({ tenant_id: 'tenant_a', note: text, [`k${i}`]: text }) }),
      steps: JSON.stringify([
        {
          tool: 'asaas/create_payment',
          args: {
            text: text.replace('\ud800', ''),
            n: 50.5,
            big: 12345678901234567890,
            tiny: 1e-7,
            exp: 1e21,
            neg: -0,
            t: true,
            f: null,
            arr: [[], {}, [1, 'x']],
          },
        },
      ]),
      servers: ['asaas', text, 'z-api'],
      idempotency_key: `key ${i} ${text}`,
      request_hash: text,
    },
  ]);
  variants.push({ servers: [], metadata: '{}', environment: 'test', status: 'running', attempts: 3 } as Partial<NewJob>);
  variants.push({ enqueued_at: new Date('2026-11-28T12:00:00.123Z'), cancel_requested_at: '2026-11-28T12:00:01Z' } as Partial<NewJob>);

  // Each variant alone (all rows of a batch set the same columns); once through insertJobs, once through insertJob.
  for (const v of variants) {
    const batched = await insertJobs(tdb.db, [jobOf(v), jobOf({ ...v, idempotency_key: v.idempotency_key ? `${v.idempotency_key} b` : null })]);
    const single = await insertJob(tdb.db, jobOf({ ...v, tenant_id: 'tenant_b', idempotency_key: v.idempotency_key ?? null }));
    expect(batched.map((o) => o.kind)).toEqual(['created', 'created']);
    expect(single.kind).toBe('created');
    const [a, b] = batched as Array<{ job: Job }>;
    const stored = await tdb.db.selectFrom('jobs').selectAll().where('id', 'in', [a!.job.id, single.job.id]).execute();
    const byId = new Map(stored.map((r) => [r.id, r]));
    // What came back is what is stored, and it equals the one-job path's row (tenant aside).
    expect(content(a!.job)).toEqual(content(byId.get(a!.job.id)!));
    expect({ ...content(byId.get(a!.job.id)!), tenant_id: 'tenant_b', metadata: null }).toEqual({ ...content(byId.get(single.job.id)!), metadata: null });
    expect(byId.get(a!.job.id)!.metadata).toEqual(byId.get(single.job.id)!.metadata);
    expect(content(b!.job).request_hash).toBe(content(a!.job).request_hash);
  }
});

test('jobs that set different columns go out together too (the VALUES form, DEFAULT where one is missing)', async () => {
  const [plain, withAttempts] = await insertJobs(tdb.db, [jobOf(), { ...jobOf(), attempts: 2 }]);
  expect(plain).toMatchObject({ kind: 'created', job: { attempts: 0 } });
  expect(withAttempts).toMatchObject({ kind: 'created', job: { attempts: 2 } });
});

test('one job whose data Postgres refuses (a NUL character) fails alone; the rest of its batch, another tenant included, is written', async () => {
  const good = [jobOf({ type: 'agent', steps: null, input: 'fine' }), jobOf({ tenant_id: 'tenant_b', idempotency_key: 'nul-batch', request_hash: 'h' })];
  const bad = jobOf({ type: 'agent', steps: null, input: 'a\u0000b' });
  const outcomes = await insertJobs(tdb.db, [good[0]!, bad, good[1]!, { ...good[1]!, id: newId('job') }]);
  expect(outcomes.map((o) => o.kind)).toEqual(['created', 'error', 'created', 'replayed']);
  expect((outcomes[1] as { error: { code?: string } }).error.code).toMatch(/^22/);
  expect((outcomes[3] as { job: Job }).job.id).toBe(good[1]!.id);
  const stored = await tdb.db
    .selectFrom('jobs')
    .select('id')
    .where('id', 'in', [...good.map((g) => g.id), bad.id])
    .execute();
  expect(stored.map((r) => r.id).sort()).toEqual(good.map((g) => g.id).sort());
});

test('a batch of one whose data is refused rejects, as the one-job path does', async () => {
  await expect(insertJobs(tdb.db, [jobOf({ type: 'agent', steps: null, input: '\u0000' })])).rejects.toMatchObject({ code: expect.stringMatching(/^22/) });
});
