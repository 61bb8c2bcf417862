/**
 * Fairness simulation (issue 18): `npx tsx scripts/bench/fairness-sim.ts [heavyJobs=2000] [jobMs=100] [slots=8] [workers=2] [announceMs=1] [roundTripMs=1]`
 *
 * The dispatcher's own slot policy (packages/queue/src/slot-policy.ts, with the product's default
 * headroom) driven by a virtual clock instead of Redis: no I/O, no timers, no randomness, so the
 * numbers do not depend on the host. What the simulation models of the Redis side
 * (packages/queue/src/dispatcher.ts):
 *   - `workers` processes, each with its own policy and `slots` slots, sharing per-tenant FIFO queues;
 *   - an announcement (a job enqueued, or a run ended whose slot went elsewhere) reaches every
 *     process's subscriber `announceMs` after it was published; the process that ended the run
 *     refills its own slot at once, as the dispatcher does;
 *   - a fetch and a finish each take `roundTripMs`, the queue being read or changed halfway through;
 *     a finish of a tenant that keeps its slot takes the tenant's next job in the same round trip;
 *   - a held-back slot is offered again when the policy says (the dispatcher's reserve timer); the
 *     5 s rescan activates every tenant with waiting or running jobs.
 * Not modelled: a tenant's global concurrency cap (the scenarios use none), failures, lock renewal.
 * Scenarios, the same as scripts/bench/fairness.ts: quiet-alone (9 quiet tenants × 20 jobs, one
 * each every 250 ms per tenant, from 1 s on, phases spread), flood (the heavy tenant's jobs all at
 * t=0 plus the same quiet schedule), alone (the heavy tenant only), fifo (the flood through ONE
 * shared queue), and the flood again with the headroom off (information). Wait = run start − submit;
 * the goals are on wait, as in the issue; end-to-end latency is printed for information.
 */
import { createSlotPolicy } from '@agents/queue';
import { runAsBundle } from '../../apps/bench/src/bundles';
import type { SlotPolicy } from '@agents/queue';

const [HEAVY_JOBS = 2000, JOB_MS = 100, SLOTS = 8, WORKERS = 2, ANNOUNCE_MS = 1, ROUND_TRIP_MS = 1] = process.argv.slice(2).map(Number);
const QUIET = 9;
const QUIET_JOBS = 20;
const QUIET_EVERY_MS = 250;
const QUIET_START_MS = 1000;
const RESCAN_MS = 5000;
const quietNames = Array.from({ length: QUIET }, (_, i) => `quiet_${i + 1}`);

interface Submission {
  at: number;
  /** The tenant queue it is added to (the shared one in the FIFO scenario). */
  queue: string;
  /** Whose job it is, for the statistics. */
  label: string;
}

interface SimJob extends Submission {
  startAt: number;
  endAt: number;
}

interface Event {
  t: number;
  seq: number;
  fn: () => void;
}

/** Binary min-heap on (t, seq): events at the same virtual time run in the order they were scheduled. */
class EventQueue {
  private h: Event[] = [];
  private seq = 0;
  push(t: number, fn: () => void): void {
    const h = this.h;
    h.push({ t, seq: this.seq++, fn });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
const less = (a: Event, b: Event) => a.t < b.t || (a.t === b.t && a.seq < b.seq);

interface Proc {
  policy: SlotPolicy;
  /** Generation of the reserve timer: arming a new one cancels the previous one. */
  timer: number;
}

interface SimOptions {
  reservedSlots?: number;
}

interface SimResult {
  jobs: SimJob[];
  /** t=0 → the last run's end (ms). */
  makespanMs: number;
}

function simulate(subs: Submission[], o: SimOptions = {}): SimResult {
  let now = 0;
  const events = new EventQueue();
  const at = (t: number, fn: () => void) => events.push(t, fn);
  const waiting = new Map<string, SimJob[]>();
  const runningOf = new Map<string, number>();
  const procs: Proc[] = Array.from({ length: WORKERS }, () => ({
    policy: createSlotPolicy({ slots: SLOTS, reservedSlots: o.reservedSlots, now: () => now }),
    timer: 0,
  }));
  const jobs: SimJob[] = subs.map((s) => ({ ...s, startAt: NaN, endAt: NaN }));
  let left = jobs.length;

  const take = (queue: string): SimJob | undefined => {
    const job = waiting.get(queue)?.shift();
    if (job) runningOf.set(queue, (runningOf.get(queue) ?? 0) + 1);
    return job;
  };

  function publish(tenant: string): void {
    for (const p of procs) {
      at(now + ANNOUNCE_MS, () => {
        p.policy.heard(tenant);
        activate(p, tenant);
      });
    }
  }

  function activate(p: Proc, tenant: string): void {
    p.policy.activate(tenant);
    pump(p);
  }

  function pump(p: Proc): void {
    for (;;) {
      const claim = p.policy.claim();
      if (claim.kind === 'held') {
        const gen = ++p.timer;
        at(now + claim.retryInMs, () => gen === p.timer && pump(p));
      }
      if (claim.kind !== 'fetch') return;
      const { tenantId, seen } = claim;
      at(now + ROUND_TRIP_MS / 2, () => {
        const job = take(tenantId);
        at(now + ROUND_TRIP_MS / 2, () => {
          p.policy.fetchEnded(tenantId, job ? 'job' : 'empty', seen);
          if (job) launch(p, tenantId, job);
          pump(p);
        });
      });
    }
  }

  function launch(p: Proc, tenant: string, job: SimJob): void {
    p.policy.runStarted(tenant);
    job.startAt = now;
    at(now + JOB_MS, () => {
      job.endAt = now;
      left--;
      const ask = p.policy.keepsItsSlot(tenant);
      const seen = p.policy.activationMark(tenant);
      at(now + ROUND_TRIP_MS / 2, () => {
        runningOf.set(tenant, runningOf.get(tenant)! - 1);
        const next = ask ? take(tenant) : undefined;
        at(now + ROUND_TRIP_MS / 2, () => {
          p.policy.runEnded(tenant);
          if (next) return launch(p, tenant, next);
          if (ask) {
            p.policy.dropUnlessAnnounced(tenant, seen);
            return pump(p);
          }
          publish(tenant);
          activate(p, tenant);
        });
      });
    });
  }

  function rescan(): void {
    for (const p of procs) {
      for (const [tenant, list] of waiting) if (list.length || (runningOf.get(tenant) ?? 0) > 0) activate(p, tenant);
      p.policy.forgetStale();
    }
    if (left > 0) at(now + RESCAN_MS, rescan);
  }

  for (const job of jobs) {
    at(job.at, () => {
      const list = waiting.get(job.queue);
      if (list) list.push(job);
      else waiting.set(job.queue, [job]);
      publish(job.queue);
    });
  }
  at(RESCAN_MS, rescan);
  for (let e = events.pop(); e && left > 0; e = events.pop()) {
    now = e.t;
    e.fn();
  }
  if (left > 0) throw new Error(`${left} jobs never ran`);
  return { jobs, makespanMs: Math.max(...jobs.map((j) => j.endAt)) };
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const waits = (r: SimResult, labels: (l: string) => boolean) => r.jobs.filter((j) => labels(j.label)).map((j) => j.startAt - j.at);
const isQuiet = (l: string) => l.startsWith('quiet_');

const quietSubs = (queue?: string): Submission[] =>
  quietNames.flatMap((q, qi) =>
    Array.from({ length: QUIET_JOBS }, (_, k) => ({
      at: QUIET_START_MS + k * QUIET_EVERY_MS + Math.floor((qi * QUIET_EVERY_MS) / QUIET),
      queue: queue ?? q,
      label: q,
    })),
  );
const heavySubs = (queue?: string): Submission[] => Array.from({ length: HEAVY_JOBS }, () => ({ at: 0, queue: queue ?? 'heavy', label: 'heavy' }));

function report(title: string, r: SimResult) {
  console.log(`## ${title}`);
  console.log('| tenant | jobs | wait p50 ms | p95 | p99 | max |\n|---|---|---|---|---|---|');
  const rows: Array<[string, number[]]> = [];
  const heavy = waits(r, (l) => l === 'heavy');
  if (heavy.length) rows.push(['heavy', heavy]);
  const quiet = waits(r, isQuiet);
  if (quiet.length) rows.push([`all ${QUIET} quiet`, quiet]);
  for (const [name, w] of rows) console.log(`| ${name} | ${w.length} | ${f1(pct(w, 50))} | ${f1(pct(w, 95))} | ${f1(pct(w, 99))} | ${f1(Math.max(...w))} |`);
  console.log(`makespan ${(r.makespanMs / 1000).toFixed(3)} s\n`);
}

function main() {
  const defaults = createSlotPolicy({ slots: SLOTS, now: () => 0 });
  console.log(
    `fairness simulation: ${WORKERS} worker processes × ${SLOTS} slots (headroom ${defaults.reservedSlots}, window ${defaults.reserveWindowMs} ms: the product defaults), ` +
      `job ${JOB_MS} ms, heavy = ${HEAVY_JOBS} jobs at t=0, ${QUIET} quiet tenants × ${QUIET_JOBS} jobs every ${QUIET_EVERY_MS} ms, ` +
      `announcement delay ${ANNOUNCE_MS} ms, fetch/finish round trip ${ROUND_TRIP_MS} ms; virtual clock\n`,
  );
  const quietAlone = simulate(quietSubs());
  report('quiet-alone (no flood)', quietAlone);
  const flood = simulate([...heavySubs(), ...quietSubs()]);
  report('flood (per-tenant queues, slot policy)', flood);
  const alone = simulate(heavySubs());
  report('alone (heavy tenant only)', alone);
  const fifo = simulate([...heavySubs('fifo_shared'), ...quietSubs('fifo_shared')]);
  report('fifo baseline (one shared FIFO queue)', fifo);
  const floodNoHeadroom = simulate([...heavySubs(), ...quietSubs()], { reservedSlots: 0 });
  report('flood, no headroom (reservedSlots 0; information)', floodNoHeadroom);
  const quietAloneNoHeadroom = simulate(quietSubs(), { reservedSlots: 0 });

  const p99Alone = pct(waits(quietAlone, isQuiet), 99);
  const p99Flood = pct(waits(flood, isQuiet), 99);
  const p99Fifo = pct(waits(fifo, isQuiet), 99);
  const utilisation = (HEAVY_JOBS * JOB_MS) / (WORKERS * SLOTS * alone.makespanMs);
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log('## Ratios');
  console.log('| ratio | value | goal | |\n|---|---|---|---|');
  console.log(
    `| quiet p99 wait under flood ÷ quiet p99 alone | ${f1(p99Flood)} / ${f1(p99Alone)} ms = ${(p99Flood / p99Alone).toFixed(2)} | ≤ 1.5 | ${mark(p99Flood / p99Alone <= 1.5)} |`,
  );
  console.log(
    `| quiet p99 wait under flood ÷ quiet p99 in the FIFO baseline | ${f1(p99Flood)} / ${f1(p99Fifo)} ms = ${(p99Flood / p99Fifo).toFixed(4)} | ≤ 0.02 | ${mark(p99Flood / p99Fifo <= 0.02)} |`,
  );
  console.log(
    `| heavy-alone slot utilisation (${HEAVY_JOBS} × ${JOB_MS} ms ÷ (${WORKERS * SLOTS} slots × makespan)) | ${utilisation.toFixed(4)} | ≥ 0.98 | ${mark(utilisation >= 0.98)} |`,
  );
  const latencies = (r: SimResult) => r.jobs.filter((j) => isQuiet(j.label)).map((j) => j.endAt - j.at);
  const l99Alone = pct(latencies(quietAlone), 99);
  const l99Flood = pct(latencies(flood), 99);
  console.log(
    `\n(information) the same ratio on end-to-end latency (run end − submit, the run's ${JOB_MS} ms included) instead of wait: ${f1(l99Flood)} / ${f1(l99Alone)} ms = ${(l99Flood / l99Alone).toFixed(2)}`,
  );
  const slow = flood.jobs.filter((j) => isQuiet(j.label) && j.startAt - j.at > p99Alone).sort((a, b) => a.at - b.at);
  console.log(
    `\n(information) quiet jobs that waited longer than the quiet-alone p99 under the flood: ${slow.length} of ${QUIET * QUIET_JOBS}` +
      (slow.length ? `: ${slow.map((j) => `${j.label} at ${j.at} ms waited ${f1(j.startAt - j.at)} ms`).join(', ')}` : ''),
  );
  const p99NoHeadroom = pct(waits(floodNoHeadroom, isQuiet), 99);
  const p99AloneNoHeadroom = pct(waits(quietAloneNoHeadroom, isQuiet), 99);
  console.log(
    `\nwithout headroom (information): quiet p99 under flood ${f1(p99NoHeadroom)} ms ÷ alone ${f1(p99AloneNoHeadroom)} ms = ${(p99NoHeadroom / p99AloneNoHeadroom).toFixed(2)}; heavy makespan in the flood ${(flood.makespanMs / 1000).toFixed(3)} s with headroom, ${(floodNoHeadroom.makespanMs / 1000).toFixed(3)} s without`,
  );
}

// Bundled and run under plain Node like every benchmark (the virtual clock makes the figures host-independent anyway).
if (!runAsBundle(__filename)) main();
