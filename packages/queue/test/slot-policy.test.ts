/**
 * The slot policy alone: no Redis, no timers; a virtual clock the test moves. Each test plays what
 * the dispatcher does (claim a slot, the fetch comes back with a job or empty, the run ends) and
 * checks who gets the next slot.
 */
import { loadConfig } from '@agents/config';
import { createSlotPolicy, DEFAULT_RESERVE_WINDOW_MS, defaultReservedSlots } from '@agents/queue';
import type { SlotPolicy, SlotPolicyOptions } from '@agents/queue';

let clock = 0;
const now = () => clock;

function policy(o: Partial<SlotPolicyOptions> & { slots: number }): SlotPolicy {
  clock = 1_000_000;
  return createSlotPolicy({ reservedSlots: 0, now, ...o });
}

/** Claims a slot and plays a fetch that found a job, which then runs; returns the tenant served. */
function startOne(p: SlotPolicy): string {
  const c = p.claim();
  if (c.kind !== 'fetch') throw new Error(`expected a fetch, got ${JSON.stringify(c)}`);
  p.fetchEnded(c.tenantId, 'job', c.seen);
  p.runStarted(c.tenantId);
  return c.tenantId;
}

test('a freed slot goes to the tenant holding the fewest here, ties round-robin', () => {
  const p = policy({ slots: 4 });
  p.activate('h');
  expect([startOne(p), startOne(p), startOne(p), startOne(p)]).toEqual(['h', 'h', 'h', 'h']);
  expect(p.claim()).toEqual({ kind: 'idle' });
  p.activate('b');
  // h holds 3, b 0: b. Then h 2, b 1: b again (plain round-robin would give h this one).
  p.runEnded('h');
  expect(startOne(p)).toBe('b');
  p.runEnded('h');
  expect(startOne(p)).toBe('b');
  // h 1, b 2: h. Then b ends: 2 each, b's turn in the ring.
  p.runEnded('h');
  expect(startOne(p)).toBe('h');
  p.runEnded('b');
  expect(startOne(p)).toBe('b');
});

test('equal holders alternate', () => {
  const p = policy({ slots: 1 });
  p.activate('a');
  p.activate('b');
  const order: string[] = [];
  for (let i = 0; i < 6; i++) {
    const t = startOne(p);
    order.push(t);
    p.runEnded(t);
  }
  expect(order.join('')).toBe('ababab');
});

test('a tenant not known to have a backlog gets one fetch at a time; one whose fetch found a job gets more', () => {
  const p = policy({ slots: 4 });
  p.activate('a');
  const first = p.claim();
  expect(first).toMatchObject({ kind: 'fetch', tenantId: 'a' });
  // Its fetch is in flight: the other three slots wait for someone else.
  expect(p.claim()).toEqual({ kind: 'idle' });
  p.activate('b');
  expect(p.claim()).toMatchObject({ kind: 'fetch', tenantId: 'b' });
  if (first.kind !== 'fetch') throw new Error('unreachable');
  p.fetchEnded('a', 'job', first.seen);
  p.runStarted('a');
  // Now a is backlogged: it may have several fetches at once.
  expect(p.claim()).toMatchObject({ kind: 'fetch', tenantId: 'a' });
  expect(p.claim()).toMatchObject({ kind: 'fetch', tenantId: 'a' });
  expect(p.stats()).toEqual({ running: 1, fetching: 3, activeTenants: 2 });
  expect(p.claim()).toEqual({ kind: 'idle' });
});

test('an empty fetch drops the tenant from the ring, unless it was announced while the fetch looked', () => {
  const p = policy({ slots: 2 });
  p.activate('a');
  const c1 = p.claim();
  if (c1.kind !== 'fetch') throw new Error('expected a fetch');
  expect(p.fetchEnded('a', 'empty', c1.seen)).toBe(true);
  expect(p.inRing('a')).toBe(false);
  expect(p.claim()).toEqual({ kind: 'idle' });

  p.activate('a');
  const c2 = p.claim();
  if (c2.kind !== 'fetch') throw new Error('expected a fetch');
  p.activate('a'); // its new job may have been added after the fetch looked
  expect(p.fetchEnded('a', 'empty', c2.seen)).toBe(false);
  expect(p.inRing('a')).toBe(true);
  // A failed fetch (Redis unreachable) keeps it too: the look never happened.
  const c3 = p.claim();
  if (c3.kind !== 'fetch') throw new Error('expected a fetch');
  expect(p.fetchEnded('a', 'failed', c3.seen)).toBe(false);
  expect(p.inRing('a')).toBe(true);
});

test('headroom: the busy tenant leaves R slots free for recently heard tenants until the window passes', () => {
  const p = policy({ slots: 4, reservedSlots: 2, reserveWindowMs: 10_000 });
  p.heard('q1');
  clock += 1000;
  p.heard('q2');
  p.heard('h');
  p.activate('h');
  expect([startOne(p), startOne(p)]).toEqual(['h', 'h']);
  // Two slots stay free for q1 and q2 (and a newcomer, over the cap of 2). When q1's announcement is
  // a window old, q2 and the newcomer still count 2: ask again when q2's is.
  expect(p.claim()).toEqual({ kind: 'held', retryInMs: 10_000 });
  // q1 shows up: it takes a kept slot at once.
  p.activate('q1');
  expect(startOne(p)).toBe('q1');
  // q1's fetch found a job, so it may have a backlog: it holds fewer than h and is asked first.
  const more = p.claim();
  expect(more).toMatchObject({ kind: 'fetch', tenantId: 'q1' });
  expect(p.fetchEnded('q1', 'empty', more.kind === 'fetch' ? more.seen : undefined)).toBe(true);
  // One slot is left and q2 still holds none: kept for q2 until its window passes.
  expect(p.claim()).toEqual({ kind: 'held', retryInMs: 10_000 });
  clock += 10_000;
  expect(startOne(p)).toBe('h');
  expect(p.stats().running).toBe(4);
});

test('headroom: a light tenant stays counted while its job runs, and one more slot waits for a newcomer', () => {
  const p = policy({ slots: 6, reservedSlots: 3 });
  /** Plays a fetch for `tenant` that comes back empty (it left the ring). */
  const emptyFetch = (tenant: string) => {
    const c = p.claim();
    expect(c).toMatchObject({ kind: 'fetch', tenantId: tenant });
    expect(p.fetchEnded(tenant, 'empty', c.kind === 'fetch' ? c.seen : undefined)).toBe(true);
  };
  p.heard('h');
  p.activate('h');
  for (let i = 0; i < 6; i++) expect(startOne(p)).toBe('h');
  // q1 shows up with one job: the first slot h frees goes to it (it holds fewer).
  p.heard('q1');
  p.activate('q1');
  expect(p.keepsItsSlot('h')).toBe(false);
  p.runEnded('h');
  expect(startOne(p)).toBe('q1');
  // The next free slot looks for more of q1's jobs: none, so q1 has no backlog.
  p.runEnded('h');
  emptyFetch('q1');
  // q1 runs and still counts, plus a newcomer slot: R = 2. So this slot and the next one h frees
  // stay free; the third is h's again.
  expect(p.claim()).toEqual({ kind: 'held', retryInMs: 10_000 });
  expect(p.keepsItsSlot('h')).toBe(false);
  p.runEnded('h');
  expect(p.claim()).toEqual({ kind: 'held', retryInMs: 10_000 });
  expect(p.keepsItsSlot('h')).toBe(true);
  // A tenant never heard before finds a kept slot at once.
  p.heard('q2');
  p.activate('q2');
  expect(startOne(p)).toBe('q2');
  emptyFetch('q2');
  expect(p.stats()).toEqual({ running: 5, fetching: 0, activeTenants: 1 });
  // Once every light announcement is a window old, h uses every slot again.
  clock += 10_000;
  expect(startOne(p)).toBe('h');
  expect(p.claim()).toEqual({ kind: 'idle' });
});

test('headroom: tenants that hold slots here and have a backlog reserve nothing for each other', () => {
  /** a and b, both heard, each hold two of five slots; their fetches found jobs, so both have a backlog. */
  const sharedByTwo = () => {
    const p = policy({ slots: 5, reservedSlots: 2 });
    for (const t of ['a', 'b']) {
      p.heard(t);
      p.activate(t);
    }
    expect([startOne(p), startOne(p), startOne(p), startOne(p)].sort()).toEqual(['a', 'a', 'b', 'b']);
    return p;
  };
  expect(sharedByTwo().claim()).toMatchObject({ kind: 'fetch' });

  // The same, but b's latest fetch came back empty (its jobs come one at a time): the fifth slot is
  // kept for b's next job.
  const q = sharedByTwo();
  q.runEnded('b');
  const c = q.claim();
  expect(c).toMatchObject({ kind: 'fetch', tenantId: 'b' });
  q.fetchEnded('b', 'empty', c.kind === 'fetch' ? c.seen : undefined);
  // a holds 2, b 1 and light: R = min(2, 1 + 1) = 2 with 2 free, so a may not take one.
  expect(q.claim()).toMatchObject({ kind: 'held' });
});

test('headroom: tenants tied at one slot are not held back, a lone busy tenant at one slot is', () => {
  const tie = policy({ slots: 3, reservedSlots: 1 });
  tie.heard('q1');
  tie.activate('a');
  tie.activate('b');
  expect([startOne(tie), startOne(tie)].sort()).toEqual(['a', 'b']);
  expect(startOne(tie)).toMatch(/^[ab]$/);

  const lone = policy({ slots: 2, reservedSlots: 1 });
  lone.heard('q1');
  lone.activate('h');
  expect(startOne(lone)).toBe('h');
  expect(lone.claim()).toMatchObject({ kind: 'held' });
});

test('headroom: a tenant alone uses every slot; its own announcements reserve nothing', () => {
  const p = policy({ slots: 4, reservedSlots: 3 });
  p.heard('h');
  p.activate('h');
  expect([startOne(p), startOne(p), startOne(p), startOne(p)]).toEqual(['h', 'h', 'h', 'h']);
});

test('keepsItsSlot: a finishing run keeps its slot only when the policy would give it back anyway', () => {
  const p = policy({ slots: 2 });
  p.activate('a');
  startOne(p);
  startOne(p);
  expect(p.keepsItsSlot('a')).toBe(true);
  // b holds nothing: the slot a frees goes to b.
  p.activate('b');
  expect(p.keepsItsSlot('a')).toBe(false);

  const h = policy({ slots: 2, reservedSlots: 1 });
  h.activate('h');
  startOne(h);
  startOne(h);
  expect(h.keepsItsSlot('h')).toBe(true);
  // q was heard while h holds both slots: the slot h frees now stays for q.
  h.heard('q');
  expect(h.keepsItsSlot('h')).toBe(false);
});

test('reservedSlots must leave at least one slot', () => {
  expect(() => createSlotPolicy({ slots: 4, reservedSlots: 4, now })).toThrow(RangeError);
  expect(() => createSlotPolicy({ slots: 4, reservedSlots: -1, now })).toThrow(RangeError);
});

test("the policy's defaults are the product's: what @agents/config gives when nothing is set", () => {
  const config = loadConfig({});
  expect(DEFAULT_RESERVE_WINDOW_MS).toBe(config.fairReserveWindowMs);
  for (const slots of [1, 4, 8, 50, config.workerSlots]) {
    expect(defaultReservedSlots(slots)).toBe(loadConfig({ WORKER_SLOTS: String(slots) }).workerReservedSlots);
  }
  const p = createSlotPolicy({ slots: config.workerSlots, now });
  expect({ reservedSlots: p.reservedSlots, reserveWindowMs: p.reserveWindowMs }).toEqual({
    reservedSlots: config.workerReservedSlots,
    reserveWindowMs: config.fairReserveWindowMs,
  });
});
