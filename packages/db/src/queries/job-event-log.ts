import type { Db } from '../connection';
import type { Job, JobStep, UsageEvent } from '../schema';
import { loadJobView, toolCallView } from './job-view';
import type { JobView } from './job-view';

/** API.md "Live progress of a job": the event types of a job's log. */
export type JobLogEventType = 'job.queued' | 'job.started' | 'model.turn' | 'tool.call' | 'job.succeeded' | 'job.failed' | 'job.cancelled';

/** One event of a job's log: `id` counts from 1 per job and never changes once the event exists. */
export interface JobLogEvent {
  id: number;
  type: JobLogEventType;
  data: Record<string, unknown>;
}

export interface JobEventLog {
  job: Job;
  events: JobLogEvent[];
  /** The job row is terminal and its terminal event is the log's last: nothing more will follow (until an operator's retry). */
  ended: boolean;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Where an event sorts in the log: `[position, rank, attempt]`, compared in order. A step is at its
 * seq. An attempt's start is just after the steps that existed when it started (its after_seq),
 * after the starts before it. An earlier generation's terminal event is just before the first
 * start of the next generation; the current generation's terminal event is last. A new row always
 * sorts after every row that existed when it was written (steps only grow in seq; a start sees
 * every committed step; a terminal event is the generation's last write), so appending never
 * renumbers an event a client has already seen.
 */
type SortKey = [number, number, number];

const compareKeys = (a: SortKey, b: SortKey) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

interface Draft {
  key: SortKey;
  type: JobLogEventType;
  data: () => Promise<Record<string, unknown>> | Record<string, unknown>;
}

interface StepPayloads {
  model_turn: {
    message?: { content?: string | null; tool_calls?: { id: string; function?: { name?: string; arguments?: string } }[] };
    usage?: { input_tokens?: number; output_tokens?: number };
  };
  tool_call: { tool_call_id?: string };
  workflow_step: { tool?: string; success?: boolean; error?: { code: string } | null };
}

/** A tool call's arguments as the model sent them: the parsed JSON object, or the raw text when it is not JSON. */
function parsedArguments(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A tool call the runtime never ran (refused by the loop, or a step without a usage row): what its
 * step says, in the shape of the job object's tool calls.
 */
function unmeteredToolCall(id: string, name: string | undefined, error: { code: string } | null | undefined) {
  const [server, tool] = name?.includes('/') ? name.split('/', 2) : name?.includes('__') ? name.split('__', 2) : [null, name ?? null];
  return { id, server: server ?? null, tool: tool ?? null, success: false, duration_ms: 0, error: error ?? { code: 'not_run' } };
}

function stepDraft(job: Job, step: JobStep, usage: Map<string, UsageEvent>, turn: () => number, callNames: Map<string, string>): Draft | undefined {
  const key: SortKey = [step.seq, 0, 0];
  const row = usage.get(`${job.id}:${step.seq}`);
  if (step.kind === 'model_turn') {
    const p = step.payload as StepPayloads['model_turn'];
    const calls = p.message?.tool_calls ?? [];
    for (const c of calls) if (c.function?.name) callNames.set(c.id, c.function.name);
    const data = {
      job_id: job.id,
      turn: turn(),
      content: p.message?.content ?? null,
      tool_calls: calls.map((c) => ({ id: c.id, name: c.function?.name ?? null, arguments: parsedArguments(c.function?.arguments) })),
      usage: { input_tokens: Number(p.usage?.input_tokens ?? 0), output_tokens: Number(p.usage?.output_tokens ?? 0) },
    };
    return { key, type: 'model.turn', data: () => data };
  }
  if (step.kind === 'tool_call') {
    const p = step.payload as StepPayloads['tool_call'];
    const callId = p.tool_call_id ?? `${job.id}:${step.seq}`;
    const toolCall = row ? toolCallView(row) : unmeteredToolCall(callId, callNames.get(callId), null);
    return { key, type: 'tool.call', data: () => ({ job_id: job.id, tool_call: toolCall }) };
  }
  const p = step.payload as StepPayloads['workflow_step'];
  const toolCall = row ? toolCallView(row) : unmeteredToolCall(`${job.id}:${step.seq}`, p.tool, p.error ? { code: p.error.code } : null);
  return { key, type: 'tool.call', data: () => ({ job_id: job.id, tool_call: toolCall }) };
}

/**
 * A job view with its keys in presentJob's order. A stored webhook payload comes back from jsonb
 * with its keys reordered; the frame must be the same bytes however the view was obtained.
 */
function inViewOrder(v: JobView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of VIEW_KEYS) if (k in v) out[k] = v[k];
  // The two objects presentJob builds itself; every other object was jsonb in the job row already.
  out.tool_calls = v.tool_calls.map((c) => toolCallView({ ...c, error_code: c.error?.code ?? null }));
  out.usage = { tool_calls: v.usage.tool_calls, input_tokens: v.usage.input_tokens, output_tokens: v.usage.output_tokens };
  return out;
}

const VIEW_KEYS: (keyof JobView)[] = [
  'id',
  'tenant_id',
  'environment',
  'type',
  'status',
  'input',
  'steps',
  'servers',
  'metadata',
  'callback_url',
  'output',
  'error',
  'tool_calls',
  'usage',
  'attempts',
  'created_at',
  'started_at',
  'finished_at',
];

/**
 * The whole event log of a job, numbered, or undefined when there is no such job. Every source
 * is read in one REPEATABLE READ snapshot, so the log is a prefix of any later one: a terminal
 * row is never seen without the last step its finish wrote. Nothing here is written by the
 * submission or the finish for the log's sake: `job.queued` is the job row, `model.turn` and
 * `tool.call` are `job_steps` (a tool call as its usage row, the job object's tool call, never a
 * result or a credential), `job.started` is `job_attempts` (written by startAttempt), and the
 * terminal events are `webhook_events`, one per generation, whose data is the job object: the
 * payload their webhook carries when rendered (an operator's retry renders every earlier one),
 * else the job's view now (`loadJobView`, as GET /jobs/{id} answers).
 */
export async function loadJobEventLog(db: Db, jobId: string): Promise<JobEventLog | undefined> {
  const read = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!job) return undefined;
      const [steps, usage, starts, ends] = [
        await trx.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('seq').execute(),
        await trx.selectFrom('usage_events').selectAll().where('job_id', '=', jobId).where('kind', '=', 'tool_call').execute(),
        await trx.selectFrom('job_attempts').selectAll().where('job_id', '=', jobId).orderBy('attempt').execute(),
        await trx
          .selectFrom('webhook_events')
          .select(['id', 'type', 'job_retry', 'payload'])
          .where('job_id', '=', jobId)
          .where('type', 'in', ['job.succeeded', 'job.failed', 'job.cancelled'])
          .orderBy('job_retry')
          .execute(),
      ];
      return { job, steps, usage, starts, ends };
    });
  if (!read) return undefined;
  const { job, steps, usage, starts, ends } = read;

  const drafts: Draft[] = [{ key: [-Infinity, 0, 0], type: 'job.queued', data: () => ({ job_id: job.id, created_at: job.created_at.toISOString() }) }];
  const byKey = new Map(usage.map((u) => [u.idempotency_key, u]));
  const callNames = new Map<string, string>();
  let turns = 0;
  for (const s of steps) {
    const d = stepDraft(job, s, byKey, () => ++turns, callNames);
    if (d) drafts.push(d);
  }
  for (const a of starts) {
    drafts.push({
      key: [a.after_seq, 1, a.attempt],
      type: 'job.started',
      data: () => ({ job_id: job.id, attempt: a.attempt, started_at: a.started_at.toISOString() }),
    });
  }
  const terminalNow = TERMINAL.has(job.status);
  for (const e of ends) {
    const current = e.job_retry === job.retries;
    // Only the generation the row is in can be "now"; an event of it while the row is not terminal cannot exist.
    if (current && !terminalNow) continue;
    const next = starts.find((a) => a.job_retry > e.job_retry);
    const key: SortKey = current || !next ? [Infinity, e.job_retry, 0] : [next.after_seq, 1, next.attempt - 0.5];
    const stored = (e.payload as { data?: JobView } | null)?.data;
    drafts.push({ key, type: e.type as JobLogEventType, data: async () => inViewOrder(stored ?? (await loadJobView(db, job))) });
  }
  drafts.sort((a, b) => compareKeys(a.key, b.key));
  const events: JobLogEvent[] = [];
  for (const [i, d] of drafts.entries()) events.push({ id: i + 1, type: d.type, data: await d.data() });
  const last = events.at(-1);
  return { job, events, ended: terminalNow && last !== undefined && TERMINAL.has(last.type.slice(4)) };
}
