import { getJob, listJobToolCalls, listSteps } from '@agents/db';
import type { Db, Principal, SessionRow } from '@agents/db';
import { jobEvents, validationDetails } from '@agents/jobs';
import type { JobEventHub, JobOrigin, SubmitJob, SubmitJobResponse } from '@agents/jobs';
import { sendBody } from './session-body';
import { SessionError } from './session-error';
import { loadSendResult, sendToolCalls } from './send-result';
import type { SendResult } from './send-result';

/** CodeSpar's send-stream event names (API.md "Sessions": send over SSE). */
export type SendEventName = 'user_message' | 'assistant_text' | 'tool_use' | 'tool_result' | 'done' | 'error';
export type SendStreamItem = { kind: 'event'; event: SendEventName; data: Record<string, unknown> } | { kind: 'keep-alive' };

/** How a job that did not succeed is answered to a JSON `send`: its own error code, with a status that says whose fault. */
export function jobFailureStatus(code: string): number {
  if (code === 'quota_exceeded' || code === 'spend_cap_reached') return 429;
  if (code === 'validation_failed') return 400;
  if (code === 'cancelled') return 409;
  if (code === 'timeout') return 504;
  // The model or a provider failed the run, or the run itself broke: a gateway's failure.
  return 502;
}

export interface SessionMessagesDeps {
  db: Db;
  /** Job submission (@agents/jobs): a message is an agent job of the session. */
  submitJob: SubmitJob;
  /** This process's job-event fan-out: waiting for the job and streaming it are both built on its log. */
  hub: JobEventHub;
  keepAliveMs?: number;
}

export type SendEnd = { ok: true; result: SendResult } | { ok: false; status: number; code: string; message: string };

export interface SessionMessages {
  /** Submits the message's agent job (the session's tenant, environment, servers, metadata); the refusal as submission answers it. */
  start(
    principal: Principal,
    session: SessionRow,
    body: unknown,
    origin?: JobOrigin,
  ): Promise<{ jobId: string; message: string } | { refused: SubmitJobResponse }>;
  /** Waits for the job's end (undefined if `signal` aborts first): its SendResult, or its failure. */
  result(session: SessionRow, jobId: string, signal?: AbortSignal): Promise<SendEnd | undefined>;
  /** The job's progress as CodeSpar's events, from `user_message` to `done` or `error`, with keep-alives. */
  stream(session: SessionRow, jobId: string, message: string, signal?: AbortSignal): AsyncGenerator<SendStreamItem, void, undefined>;
}

export function createSessionMessages(deps: SessionMessagesDeps): SessionMessages {
  const { db } = deps;

  async function ending(session: SessionRow, jobId: string): Promise<SendEnd> {
    const job = await getJob(db, session.tenant_id, jobId);
    if (!job) throw new Error(`job ${jobId} of session ${session.id} is gone`);
    if (job.status === 'succeeded') return { ok: true, result: await loadSendResult(db, job) };
    const error = job.error ?? { code: 'internal', message: `The job ended ${job.status}.` };
    return { ok: false, status: jobFailureStatus(error.code), code: error.code, message: error.message };
  }

  const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.cancelled']);

  return {
    async start(principal, session, raw, origin) {
      const parsed = sendBody.safeParse(raw ?? {});
      if (!parsed.success) throw new SessionError('validation_failed', 'The request body is invalid.', validationDetails('body', parsed.error));
      const answer = await deps.submitJob({
        principal,
        tenantId: session.tenant_id,
        body: { type: 'agent', input: parsed.data.message, metadata: session.metadata, environment: session.environment },
        idempotencyKey: undefined,
        origin,
        session: { id: session.id, servers: session.servers },
      });
      if (answer.status !== 202) return { refused: answer };
      return { jobId: (answer.body as { id: string }).id, message: parsed.data.message };
    },

    async result(session, jobId, signal) {
      for await (const item of jobEvents({ db, hub: deps.hub }, { jobId, after: 0, keepAliveMs: deps.keepAliveMs, signal })) {
        if (item.kind === 'event' && TERMINAL.has(item.event.type)) return ending(session, jobId);
      }
      return undefined;
    },

    async *stream(session, jobId, message, signal) {
      yield { kind: 'event', event: 'user_message', data: { type: 'user_message', content: message } };
      let results = 0;
      for await (const item of jobEvents({ db, hub: deps.hub }, { jobId, after: 0, keepAliveMs: deps.keepAliveMs, signal })) {
        if (item.kind === 'keep-alive') {
          yield item;
          continue;
        }
        const { type, data } = item.event;
        if (type === 'model.turn') {
          const turn = data as { turn: number; content: string | null; tool_calls: { id: string; name: string | null; arguments: unknown }[] };
          if (turn.content) yield { kind: 'event', event: 'assistant_text', data: { type: 'assistant_text', content: turn.content, iteration: turn.turn } };
          for (const c of turn.tool_calls) yield { kind: 'event', event: 'tool_use', data: { type: 'tool_use', id: c.id, name: c.name, input: c.arguments } };
        } else if (type === 'tool.call') {
          // The log carries no results; the record (input and output as the model saw them) comes
          // from the checkpoints, which list every tool-call step in the log's order: the k-th
          // tool.call event is the k-th record. Later ones may already be there, but their
          // tool_use has not been sent yet.
          const [steps, usage] = await Promise.all([listSteps(db, jobId), listJobToolCalls(db, jobId)]);
          const record = sendToolCalls({ id: jobId }, steps, usage)[results++];
          if (record) yield { kind: 'event', event: 'tool_result', data: { type: 'tool_result', ...record, toolCall: record } };
        } else if (TERMINAL.has(type)) {
          const end = await ending(session, jobId);
          if (end.ok) yield { kind: 'event', event: 'done', data: { type: 'done', ...end.result, result: end.result } };
          else yield { kind: 'event', event: 'error', data: { type: 'error', error: end.code, message: end.message } };
          return;
        }
      }
    },
  };
}
