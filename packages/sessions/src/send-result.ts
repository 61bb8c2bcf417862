import { listJobToolCalls, listSteps } from '@agents/db';
import type { Db, Job, JobStep, UsageEvent } from '@agents/db';

/** One tool call of a `send`, as CodeSpar's SendResult lists it. */
export interface SendToolCall {
  id: string;
  tool_name: string;
  server_id: string;
  status: 'success' | 'error';
  duration_ms: number;
  input: unknown;
  output: unknown;
  error_code: string | null;
}

/** What `send` answers once its job ended (and `done` carries). */
export interface SendResult {
  message: string;
  tool_calls: SendToolCall[];
  iterations: number;
  job_id: string;
}

interface TurnPayload {
  message?: { content?: string | null; tool_calls?: { id: string; function?: { name?: string; arguments?: string } }[] };
}
interface ToolPayload {
  tool_call_id?: string;
  content?: string;
}

/** JSON text as a value, or the text itself when it is not JSON (a truncated preview, a model's bad arguments). */
function parsed(text: string | undefined): unknown {
  if (text === undefined || text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The tool calls of a session's agent job, in the order they ran, from its checkpoints: the input
 * as the model wrote it (its model turn), the output as the model was shown it (the tool message,
 * capped in size as it was for the model), the rest from the call's usage row. A call the loop
 * refused before the runtime (no usage row) is an error with the tool message's code.
 */
export function sendToolCalls(job: Pick<Job, 'id'>, steps: JobStep[], usage: UsageEvent[]): SendToolCall[] {
  const byKey = new Map(usage.map((u) => [u.idempotency_key, u]));
  const asked = new Map<string, { name: string; arguments?: string }>();
  const out: SendToolCall[] = [];
  for (const step of steps) {
    if (step.kind === 'model_turn') {
      for (const c of (step.payload as TurnPayload).message?.tool_calls ?? [])
        asked.set(c.id, { name: c.function?.name ?? '', arguments: c.function?.arguments });
      continue;
    }
    if (step.kind !== 'tool_call') continue;
    const p = step.payload as ToolPayload;
    const call = asked.get(p.tool_call_id ?? '');
    const row = byKey.get(`${job.id}:${step.seq}`);
    const shown = parsed(p.content) as { success?: boolean; data?: unknown; error?: string | null; error_code?: string | null } | string;
    const envelope = typeof shown === 'object' && shown !== null ? shown : { data: shown };
    const success = row ? row.success : envelope.success === true;
    out.push({
      id: row?.id ?? p.tool_call_id ?? `${job.id}:${step.seq}`,
      tool_name: call?.name || (row ? `${row.server}__${row.tool}` : ''),
      server_id: row?.server ?? '',
      status: success ? 'success' : 'error',
      duration_ms: row?.duration_ms ?? 0,
      input: parsed(call?.arguments),
      output: success ? (envelope.data ?? null) : { error: envelope.error ?? null, data: envelope.data ?? null },
      error_code: success ? null : (row?.error_code ?? envelope.error_code ?? 'not_run'),
    });
  }
  return out;
}

/** The SendResult of a finished session job. */
export async function loadSendResult(db: Db, job: Job): Promise<SendResult> {
  const [steps, usage] = await Promise.all([listSteps(db, job.id), listJobToolCalls(db, job.id)]);
  const output = job.output as { message?: unknown } | null;
  return {
    message: typeof output?.message === 'string' ? output.message : '',
    tool_calls: sendToolCalls(job, steps, usage),
    iterations: steps.filter((s) => s.kind === 'model_turn').length,
    job_id: job.id,
  };
}
