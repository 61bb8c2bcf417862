import { randomBytes } from 'node:crypto';
import type { Stack } from './stack';
import { OPERATOR_KEY, workflowBody } from './stack';

export interface Submission {
  tenant: string;
  idempotencyKey: string;
  /** HTTP status, or 0 when no response came (connection refused/reset, or no answer within the timeout). */
  status: number;
  code?: string;
  jobId?: string;
  ms: number;
}

/** POSTs one job with an Idempotency-Key; never throws, never waits longer than `timeoutMs`. */
export async function submitJob(stack: Pick<Stack, 'apiUrl'>, tenant: string, idempotencyKey: string, timeoutMs = 10_000, extraCalls = 0): Promise<Submission> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${stack.apiUrl}/v1/tenants/${tenant}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(workflowBody(idempotencyKey, extraCalls)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await r.json().catch(() => ({}))) as { id?: string; error?: { code?: string } };
    return { tenant, idempotencyKey, status: r.status, code: body.error?.code, jobId: r.status === 202 ? body.id : undefined, ms: performance.now() - t0 };
  } catch {
    return { tenant, idempotencyKey, status: 0, ms: performance.now() - t0 };
  }
}

export interface LoadOptions {
  /** Jobs to get accepted (202). */
  jobs: number;
  concurrency: number;
  /**
   * What a non-202 answer leads to: `same-key` retries with the same Idempotency-Key (the client
   * contract for a request without a response), `new-key` with a fresh one (so the refused key can
   * be checked to have left no row).
   */
  retry: 'same-key' | 'new-key';
  /** Pause between retries of one logical request (ms). */
  retryDelayMs?: number;
  /** Stop retrying after this long (ms); what is still unaccepted then is reported. */
  deadlineMs?: number;
  /** When set, no new logical request starts after this long (ms): the load spans an outage. */
  durationMs?: number;
  /** Pause of each lane between logical requests (ms), to hold a steady rate instead of a burst. */
  paceMs?: number;
  /** Called after each attempt with the number of logical requests accepted so far. */
  onAccepted?: (accepted: number) => void;
  /** Tool calls per job beyond the workflow's two (see workflowBody). */
  extraCalls?: number;
}

export interface LoadResult {
  /** Every attempt, in completion order. */
  attempts: Submission[];
  /** Job ids that got a 202. */
  accepted: Set<string>;
  /** Logical requests that never got a 202 before the deadline. */
  gaveUp: number;
}

/** Submits `jobs` workflow jobs (two steps + `extraCalls`) round-robin over the stack's tenants, `concurrency` at a time. */
export async function runLoad(stack: Pick<Stack, 'apiUrl' | 'tenants'>, opts: LoadOptions): Promise<LoadResult> {
  const attempts: Submission[] = [];
  const accepted = new Set<string>();
  const run = randomBytes(3).toString('hex');
  const deadline = Date.now() + (opts.deadlineMs ?? 120_000);
  let next = 0;
  let gaveUp = 0;
  const stopAt = opts.durationMs ? Date.now() + opts.durationMs : Infinity;
  async function lane() {
    for (;;) {
      if (Date.now() > stopAt) return;
      const i = next++;
      if (i >= opts.jobs) return;
      if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
      const tenant = stack.tenants[i % stack.tenants.length]!;
      let key = `${run}-${i}`;
      for (let attempt = 1; ; attempt++) {
        const s = await submitJob(stack, tenant, key, undefined, opts.extraCalls);
        attempts.push(s);
        if (s.status === 202 && s.jobId) {
          accepted.add(s.jobId);
          opts.onAccepted?.(accepted.size);
          break;
        }
        if (Date.now() > deadline) {
          gaveUp++;
          break;
        }
        if (opts.retry === 'new-key') key = `${run}-${i}-r${attempt}`;
        await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 100));
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return { attempts, accepted, gaveUp };
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
