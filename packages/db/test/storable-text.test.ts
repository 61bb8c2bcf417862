/** Unstorable text (U+0000, lone surrogates) from models, providers and hooks becomes U+FFFD, and Postgres takes the result. */
import { sql } from 'kysely';
import { createDb, isStorableText, storableJson, storableText } from '@agents/db';
import type { Db } from '@agents/db';
import { createTestDatabase } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

let tdb: TestDatabase;
let db: Db;
beforeAll(async () => {
  tdb = await createTestDatabase('storable');
  db = createDb({ url: tdb.url, max: 1 });
});
afterAll(async () => {
  await db.destroy();
  await tdb.close();
});

test('NUL and lone surrogates become U+FFFD; pairs, emoji and plain text stay', () => {
  expect(storableText('a\u0000b')).toBe('a\ufffdb');
  expect(storableText('x\ud800')).toBe('x\ufffd');
  expect(storableText('\udc00y')).toBe('\ufffdy');
  expect(storableText('\udc00\ud800')).toBe('\ufffd\ufffd');
  expect(storableText('ok 😀 ção')).toBe('ok 😀 ção');
  expect(isStorableText('ok 😀')).toBe(true);
  expect(isStorableText('bad\u0000')).toBe(false);
  expect(isStorableText('bad\ud83d')).toBe(false);
});

test('deep values: strings and keys fixed; an already storable value is returned as the same object', () => {
  const clean = { a: [1, 'two', { three: true }], b: null };
  expect(storableJson(clean)).toBe(clean);
  const dirty = { ['k\u0000']: ['v\ud800', { n: 1, s: 'ok' }], keep: 'x' };
  const fixed = storableJson(dirty);
  expect(fixed).toEqual({ 'k\ufffd': ['v\ufffd', { n: 1, s: 'ok' }], keep: 'x' });
  expect(dirty['k\u0000']![0]).toBe('v\ud800'); // the input is not changed
});

test('what jsonb refuses before the fix, it stores after', async () => {
  const hostile = { text: 'nul \u0000 and lone \ud800', [`key\udfff`]: 1 };
  await expect(sql`SELECT ${JSON.stringify(hostile)}::jsonb AS v`.execute(db)).rejects.toThrow();
  const r = await sql<{ v: unknown }>`SELECT ${JSON.stringify(storableJson(hostile))}::jsonb AS v`.execute(db);
  expect(r.rows[0]!.v).toEqual({ text: 'nul \ufffd and lone \ufffd', 'key\ufffd': 1 });
});
