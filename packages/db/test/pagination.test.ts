/**
 * Cursor pagination of the tenant listings (jobs, webhook deliveries): newest first by
 * (created_at, id), ties broken by id, every row exactly once across pages, has_more exact, and a
 * cursor that is not one of the tenant's rows gives an empty page.
 */
import { insertTenant, listDeliveries, listJobs } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;

const limits = { concurrency: 1, requests_per_minute: 60, monthly_tool_calls: 10, max_iterations: 10 };
const plan = { currency: 'BRL', base_fee: 0, price_per_tool_call: 0, price_per_1k_tokens: 0, included_tool_calls: 0 };

interface Row {
  id: string;
  tenant: string;
  environment: 'live' | 'test';
  created_at: string;
}

// Three rows share one timestamp, so the id decides their order.
const T = ['2026-03-01T10:00:00Z', '2026-03-01T10:00:01Z', '2026-03-01T10:00:02Z'];
const ROWS: Row[] = [
  { id: '07', tenant: 'tenant_a', environment: 'live', created_at: T[0]! },
  { id: '03', tenant: 'tenant_a', environment: 'test', created_at: T[1]! },
  { id: '05', tenant: 'tenant_a', environment: 'live', created_at: T[1]! },
  { id: '04', tenant: 'tenant_a', environment: 'live', created_at: T[1]! },
  { id: '01', tenant: 'tenant_a', environment: 'test', created_at: T[2]! },
  { id: '06', tenant: 'tenant_a', environment: 'live', created_at: T[2]! },
  { id: '02', tenant: 'tenant_a', environment: 'live', created_at: '2026-03-01T09:59:59Z' },
  { id: '08', tenant: 'tenant_b', environment: 'live', created_at: T[2]! },
  { id: '09', tenant: 'tenant_b', environment: 'live', created_at: T[0]! },
];

/** The order a listing must return, computed here rather than by the query under test. */
function expected(prefix: string, environment?: 'live' | 'test'): string[] {
  return ROWS.filter((r) => r.tenant === 'tenant_a' && (!environment || r.environment === environment))
    .sort((x, y) => Date.parse(y.created_at) - Date.parse(x.created_at) || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
    .map((r) => `${prefix}${r.id}`);
}

type Lister = (q: {
  tenantId: string;
  environment?: 'live' | 'test';
  limit: number;
  startingAfter?: string;
}) => Promise<{ data: { id: string }[]; hasMore: boolean }>;

/** Follows the cursor to the end, checking has_more on every page. */
async function walk(list: Lister, limit: number, environment?: 'live' | 'test'): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await list({ tenantId: 'tenant_a', environment, limit, startingAfter: after });
    pages.push(page.data.map((r) => r.id));
    if (!page.hasMore) return pages;
    expect(page.data).toHaveLength(limit);
    after = page.data[page.data.length - 1]!.id;
    if (pages.length > 20) throw new Error('pagination does not end');
  }
}

beforeAll(async () => {
  tdb = await createTestDatabase('paging');
  for (const id of ['tenant_a', 'tenant_b']) {
    await insertTenant(tdb.db, { id, name: id, servers: ['asaas'], limits, plan, instructions: null, webhook_url: null });
  }
  for (const r of ROWS) {
    await tdb.db
      .insertInto('jobs')
      .values({
        id: `job_p${r.id}`,
        tenant_id: r.tenant,
        environment: r.environment,
        type: 'workflow',
        status: 'succeeded',
        input: null,
        steps: JSON.stringify([]),
        servers: ['asaas'],
        metadata: JSON.stringify({}),
        callback_url: null,
        max_iterations: null,
        model: null,
        idempotency_key: null,
        request_hash: null,
        created_at: r.created_at,
      })
      .execute();
    await tdb.db
      .insertInto('webhook_events')
      .values({
        id: `evt_p${r.id}`,
        tenant_id: r.tenant,
        environment: r.environment,
        job_id: `job_p${r.id}`,
        type: 'job.succeeded',
        payload: JSON.stringify({}),
      })
      .execute();
    await tdb.db
      .insertInto('webhook_deliveries')
      .values({
        id: `whd_p${r.id}`,
        event_id: `evt_p${r.id}`,
        tenant_id: r.tenant,
        environment: r.environment,
        job_id: `job_p${r.id}`,
        event_type: 'job.succeeded',
        url: 'https://example.test/hook',
        status: 'delivered',
        created_at: r.created_at,
      })
      .execute();
  }
});
afterAll(() => tdb?.close());

describe.each([
  ['listJobs', 'job_p', (q: Parameters<Lister>[0]) => listJobs(tdb.db, q)],
  ['listDeliveries', 'whd_p', (q: Parameters<Lister>[0]) => listDeliveries(tdb.db, q)],
] as const)('%s', (_name, prefix, list) => {
  test('pages newest first, ties by id, each row once, has_more exact', async () => {
    const all = expected(prefix);
    expect(all).toEqual([`${prefix}06`, `${prefix}01`, `${prefix}05`, `${prefix}04`, `${prefix}03`, `${prefix}07`, `${prefix}02`]);
    for (const limit of [1, 2, 3, 6, 7, 50]) {
      const pages = await walk(list, limit);
      expect(pages.flat()).toEqual(all);
      expect(pages).toHaveLength(Math.max(1, Math.ceil(all.length / limit)));
    }
  });

  test('filters apply across pages', async () => {
    expect((await walk(list, 2, 'live')).flat()).toEqual(expected(prefix, 'live'));
    expect((await walk(list, 2, 'test')).flat()).toEqual(expected(prefix, 'test'));
  });

  test("a cursor that is another tenant's row or no row gives an empty page", async () => {
    for (const after of [`${prefix}08`, `${prefix}nope`]) {
      expect(await list({ tenantId: 'tenant_a', limit: 5, startingAfter: after })).toEqual({ data: [], hasMore: false });
    }
  });
});
