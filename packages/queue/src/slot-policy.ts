/**
 * Who gets a worker process's next free slot (DESIGN.md decision 1). Pure bookkeeping over tenant
 * ids and counts with an injected clock: no Redis, no timers, no BullMQ. The dispatcher
 * (dispatcher.ts) tells it what happened (a tenant announced, a fetch started or ended, a run started
 * or ended) and asks it what to do next; the fairness simulation (scripts/bench/fairness-sim.ts)
 * drives the same object with a virtual clock.
 *
 * Order: the ring tenant holding the fewest slots here first, ties round-robin from a cursor. Plain
 * round-robin let a tenant holding every slot take every other freed slot from a tenant that arrived
 * with a backlog; this way slots go to the newcomer until both hold as many, then they alternate.
 * A tenant's own global concurrency cap is not known here: BullMQ enforces it inside the fetch, so a
 * capped tenant's fetch yields nothing and it leaves the ring until announced again.
 */

/** Product default of `reserveWindowMs`, equal to FAIR_RESERVE_WINDOW_MS's default in @agents/config. */
export const DEFAULT_RESERVE_WINDOW_MS = 10_000;

/** Product default of `reservedSlots`: a quarter of the slots, rounded down (WORKER_RESERVED_SLOTS unset). */
export function defaultReservedSlots(slots: number): number {
  return Math.floor(slots / 4);
}

export interface SlotPolicyOptions {
  /** Jobs this process runs at once, over all tenants. */
  slots: number;
  /**
   * Headroom: at most this many free slots are kept for tenants announced within `reserveWindowMs`
   * that hold no slot or have no backlog here, and a newcomer (see heldBack). 0 turns it off; must be below `slots`.
   * Default: defaultReservedSlots(slots).
   */
  reservedSlots?: number;
  /** How long an announcement counts as "recently active" for the headroom (ms). Default DEFAULT_RESERVE_WINDOW_MS. */
  reserveWindowMs?: number;
  /** Milliseconds on a monotonic-enough clock; Date.now in the product, a virtual clock in the simulation. */
  now: () => number;
}

/** What `claim` answers: fetch for this tenant now, or nothing now (and when to ask again, if a timer should). */
export type Claim =
  | { kind: 'fetch'; tenantId: string; /** The tenant's activation mark when the fetch began (pass to fetchEnded). */ seen: number | undefined }
  | { kind: 'idle' }
  /** A slot is free but kept as headroom; ask again in `retryInMs` (a reserved-for tenant ages out then). */
  | { kind: 'held'; retryInMs: number };

export type FetchOutcome = 'job' | 'empty' | 'failed';

export interface SlotPolicyStats {
  running: number;
  fetching: number;
  /** Tenants in the ring (may have waiting work). */
  activeTenants: number;
}

export interface SlotPolicy {
  readonly slots: number;
  readonly reservedSlots: number;
  readonly reserveWindowMs: number;
  /** The tenant may have waiting work (an announcement, a rescan, a run of it ended): it joins the ring. */
  activate(tenantId: string): void;
  /** An announcement was heard on the channel (any process): counts for the headroom window. */
  heard(tenantId: string): void;
  /** Takes the next free slot for a fetch, if any tenant may have it now; see Claim. */
  claim(): Claim;
  /**
   * A fetch claimed by `claim` came back. Returns true when the tenant left the ring (it had
   * nothing and was not announced since the fetch began): the caller may retire it.
   */
  fetchEnded(tenantId: string, outcome: FetchOutcome, seen: number | undefined): boolean;
  /** A fetched job starts running in a slot (after fetchEnded 'job', or handed over by a finish). */
  runStarted(tenantId: string): void;
  runEnded(tenantId: string): void;
  /**
   * Whether the slot that a finishing run of `tenantId` frees would go straight back to that tenant,
   * as `claim` would decide once it is free: no other ring tenant holds as few slots here (ties go
   * through the round-robin) and the headroom does not hold it back. Then the finish may fetch the
   * tenant's next job in the same round trip.
   */
  keepsItsSlot(tenantId: string): boolean;
  /** The tenant's current activation mark (compare with dropUnlessAnnounced). */
  activationMark(tenantId: string): number | undefined;
  /**
   * The tenant had nothing to run: it leaves the ring unless announced since `seen`. Returns false
   * when it was announced meanwhile (keep it), true otherwise (also when it had already left).
   */
  dropUnlessAnnounced(tenantId: string, seen: number | undefined): boolean;
  inRing(tenantId: string): boolean;
  /** Forgets announcements older than the window (memory bound for thousands of tenants). */
  forgetStale(): void;
  stats(): SlotPolicyStats;
}

export function createSlotPolicy(opts: SlotPolicyOptions): SlotPolicy {
  const { slots, now } = opts;
  const maxReserved = opts.reservedSlots ?? defaultReservedSlots(slots);
  const reserveWindowMs = opts.reserveWindowMs ?? DEFAULT_RESERVE_WINDOW_MS;
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  if (!Number.isInteger(maxReserved) || maxReserved < 0 || maxReserved >= slots) {
    throw new RangeError(`reservedSlots must be an integer from 0 to slots - 1 (${slots - 1}), got ${maxReserved}`);
  }
  let running = 0;
  // Slots claimed by fetches in flight.
  let fetching = 0;
  // Slots each tenant holds here, running or being fetched for it (absent = 0): the emptiest goes first.
  const held = new Map<string, number>();
  // Fetches in flight per tenant, and the tenants whose latest fetch here returned a job. A tenant
  // not known to have a backlog gets one fetch at a time: an announcement usually means one job, and
  // the other free slots stay for tenants announced meanwhile instead of waiting a round trip on
  // fetches that come back empty.
  const fetchingOf = new Map<string, number>();
  const backlogged = new Set<string>();
  // Round-robin ring of tenants that may have waiting jobs.
  const ring: string[] = [];
  const inRing = new Set<string>();
  // Each ring tenant's latest activation, numbered from one process-wide sequence: an empty fetch
  // drops the tenant from the ring only if it was not activated again since the fetch began (its
  // new job may have been added after the fetch looked). One sequence for all tenants, so that a
  // tenant dropped and activated again never shows the number an older fetch saw.
  const activations = new Map<string, number>();
  let activationSeq = 0;
  let cursor = 0;
  // When each tenant was last heard announced. Entries older than the window are dropped as they are met.
  const lastSeen = new Map<string, number>();

  const inc = (m: Map<string, number>, t: string) => m.set(t, (m.get(t) ?? 0) + 1);
  const dec = (m: Map<string, number>, t: string) => {
    const left = (m.get(t) ?? 1) - 1;
    if (left > 0) m.set(t, left);
    else m.delete(t);
  };

  function deactivate(tenantId: string): void {
    if (!inRing.delete(tenantId)) return;
    activations.delete(tenantId);
    backlogged.delete(tenantId);
    const i = ring.indexOf(tenantId);
    ring.splice(i, 1);
    if (i < cursor) cursor--;
  }

  /** Ring position of the fewest-holding tenant that may fetch now, ties from the cursor; -1: none. O(ring). */
  function nextInRing(): number {
    if (cursor >= ring.length) cursor = 0;
    let best = -1;
    let bestHeld = Infinity;
    for (let k = 0; k < ring.length && bestHeld > 0; k++) {
      const i = (cursor + k) % ring.length;
      const t = ring[i]!;
      if (fetchingOf.has(t) && !backlogged.has(t)) continue;
      const n = held.get(t) ?? 0;
      if (n < bestHeld) {
        best = i;
        bestHeld = n;
      }
    }
    return best;
  }

  /**
   * Headroom (AWS Lambda's unreserved concurrency, Oban Pro's burst-into-idle-capacity): a tenant
   * that already holds the most slots here may not take one that would leave fewer than R free.
   * R counts the other tenants heard within the window that hold no slot here or have no known
   * backlog here (their latest fetch here did not return a job, or they have not fetched here), plus
   * one newcomer slot while there is any such tenant, capped at `reservedSlots`. A counted tenant
   * that shows up gets a free slot at once (it holds fewer, so nextInRing picks it first). A light
   * tenant stays counted while its job runs: its jobs come one at a time, and the next one should
   * not wait for a busy tenant's job to end. The newcomer slot is for a tenant not heard yet: once
   * tenants come and go, the next one's first job should not wait either. Tenants that all hold slots
   * and have a backlog share every slot by the fewest-holding order; a tenant alone (or after the
   * window) uses every slot, and no slot stays idle past the window. Answers the wait (ms) until R
   * has shrunk enough for the slot to be taken, when a held-back slot should be offered again, or
   * undefined when the tenant may take it.
   * A tie at one slot does not count as "holding the most": when the tenants here each held one,
   * every one of them was held back, and the last slot idled for tenants that may be running in
   * another process while the tenants here had jobs waiting. A lone busy tenant at one slot is
   * still held back. `freeing` = 1 asks for a run of this tenant that is about to end.
   */
  function heldBack(tenantId: string, freeing = 0): number | undefined {
    if (maxReserved === 0) return undefined;
    const mine = (held.get(tenantId) ?? 0) - freeing;
    for (const [t, n] of held) if (t !== tenantId && (n > mine || (n === 1 && mine === 1))) return undefined;
    const t0 = now();
    // When each counted tenant was heard (see above).
    const counted: number[] = [];
    for (const [t, at] of lastSeen) {
      if (t0 - at >= reserveWindowMs) lastSeen.delete(t);
      else if (t !== tenantId && (!held.has(t) || !backlogged.has(t))) counted.push(at);
    }
    const reserve = (n: number) => (n === 0 ? 0 : Math.min(maxReserved, n + 1));
    const free = slots - running - fetching + freeing;
    if (free - 1 >= reserve(counted.length)) return undefined;
    // R shrinks as the counted announcements age out, oldest first.
    counted.sort((a, b) => a - b);
    let i = 0;
    while (free - 1 < reserve(counted.length - i - 1)) i++;
    return Math.max(1, counted[i]! + reserveWindowMs - t0);
  }

  return {
    slots,
    reservedSlots: maxReserved,
    reserveWindowMs,
    activate(tenantId) {
      if (!inRing.has(tenantId)) {
        inRing.add(tenantId);
        ring.push(tenantId);
      }
      activations.set(tenantId, ++activationSeq);
    },
    heard(tenantId) {
      if (maxReserved > 0) lastSeen.set(tenantId, now());
    },
    claim() {
      if (running + fetching >= slots || ring.length === 0) return { kind: 'idle' };
      const next = nextInRing();
      if (next < 0) return { kind: 'idle' };
      cursor = next;
      const tenantId = ring[cursor]!;
      // nextInRing picked the fewest-holding tenant, so if it is held back every ring member is.
      const wait = heldBack(tenantId);
      if (wait !== undefined) return { kind: 'held', retryInMs: wait };
      cursor++;
      fetching++;
      inc(fetchingOf, tenantId);
      inc(held, tenantId);
      return { kind: 'fetch', tenantId, seen: activations.get(tenantId) };
    },
    fetchEnded(tenantId, outcome, seen) {
      fetching--;
      dec(fetchingOf, tenantId);
      if (outcome === 'job') backlogged.add(tenantId);
      else if (outcome === 'empty') backlogged.delete(tenantId);
      dec(held, tenantId);
      return outcome === 'empty' && this.dropUnlessAnnounced(tenantId, seen);
    },
    runStarted(tenantId) {
      running++;
      inc(held, tenantId);
    },
    runEnded(tenantId) {
      running--;
      dec(held, tenantId);
    },
    keepsItsSlot(tenantId) {
      const mine = (held.get(tenantId) ?? 1) - 1;
      for (const t of ring) if (t !== tenantId && (held.get(t) ?? 0) <= mine) return false;
      return heldBack(tenantId, 1) === undefined;
    },
    activationMark: (tenantId) => activations.get(tenantId),
    dropUnlessAnnounced(tenantId, seen) {
      if (activations.get(tenantId) !== seen) return false;
      deactivate(tenantId);
      return true;
    },
    inRing: (tenantId) => inRing.has(tenantId),
    forgetStale() {
      const t0 = now();
      for (const [t, at] of lastSeen) if (t0 - at >= reserveWindowMs) lastSeen.delete(t);
    },
    stats: () => ({ running, fetching, activeTenants: ring.length }),
  };
}
