import type { Db } from '../connection';
import type { UsageEvent } from '../schema';

export async function listJobToolCalls(db: Db, jobId: string): Promise<UsageEvent[]> {
  return db.selectFrom('usage_events').selectAll().where('job_id', '=', jobId).where('kind', '=', 'tool_call').orderBy('seq').execute();
}

export interface JobUsageTotals {
  tool_calls: number;
  input_tokens: number;
  output_tokens: number;
}

export async function jobUsageTotals(db: Db, jobId: string): Promise<JobUsageTotals> {
  const row = await db
    .selectFrom('usage_events')
    .select((eb) => [
      eb.fn.count<number>('seq').filterWhere('kind', '=', 'tool_call').as('tool_calls'),
      eb.fn.coalesce(eb.fn.sum<number>('input_tokens'), eb.lit(0)).as('input_tokens'),
      eb.fn.coalesce(eb.fn.sum<number>('output_tokens'), eb.lit(0)).as('output_tokens'),
    ])
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  return { tool_calls: Number(row.tool_calls), input_tokens: Number(row.input_tokens), output_tokens: Number(row.output_tokens) };
}
