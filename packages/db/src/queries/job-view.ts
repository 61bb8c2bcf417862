import type { Db } from '../connection';
import type { Job, UsageEvent } from '../schema';
import { param, prepare } from '../prepared';

/** The public job object of API.md, shared by the API responses and the job.* webhook events. */
export interface JobView {
  id: string;
  tenant_id: string;
  environment: string;
  type: string;
  status: string;
  input: string | null;
  steps?: unknown;
  servers: string[];
  metadata: Record<string, string>;
  callback_url: string | null;
  output: unknown;
  error: { code: string; message: string } | null;
  tool_calls: {
    id: string;
    server: string | null;
    tool: string | null;
    success: boolean;
    duration_ms: number;
    error: { code: string } | null;
  }[];
  usage: { tool_calls: number; input_tokens: number; output_tokens: number };
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toolCallView(e: Pick<UsageEvent, 'id' | 'server' | 'tool' | 'success' | 'duration_ms' | 'error_code'>): JobView['tool_calls'][number] {
  return {
    id: e.id,
    server: e.server,
    tool: e.tool,
    success: e.success,
    duration_ms: e.duration_ms,
    error: e.error_code ? { code: e.error_code } : null,
  };
}

export function presentJob(
  job: Job,
  toolCalls: Pick<UsageEvent, 'id' | 'server' | 'tool' | 'success' | 'duration_ms' | 'error_code'>[],
  usage: JobView['usage'],
): JobView {
  return {
    id: job.id,
    tenant_id: job.tenant_id,
    environment: job.environment,
    type: job.type,
    status: job.status,
    input: job.input,
    ...(job.type === 'workflow' ? { steps: job.steps } : {}),
    servers: job.servers,
    metadata: job.metadata,
    callback_url: job.callback_url,
    output: job.output ?? null,
    error: job.error,
    tool_calls: toolCalls.map(toolCallView),
    usage,
    attempts: job.attempts,
    created_at: job.created_at.toISOString(),
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
  };
}

const usageOfJob = prepare<{ job_id: string }, UsageEvent>('usage_of_job', (db) =>
  db.selectFrom('usage_events').selectAll().where('job_id', '=', param('job_id')).orderBy('seq'),
);

/** The job's view from one read of its usage rows (tool calls listed, tokens summed over all kinds). */
export async function loadJobView(db: Db, job: Job): Promise<JobView> {
  const rows = await usageOfJob.execute(db, { job_id: job.id });
  const calls = rows.filter((r) => r.kind === 'tool_call');
  const usage = { tool_calls: calls.length, input_tokens: 0, output_tokens: 0 };
  for (const r of rows) {
    usage.input_tokens += Number(r.input_tokens);
    usage.output_tokens += Number(r.output_tokens);
  }
  return presentJob(job, calls, usage);
}
