import { sql } from 'kysely';
import type { Db } from '@agents/db';

export interface RollupDifference {
  tenant_id: string;
  environment: string;
  hour: string;
  kind: string;
  server: string;
  tool: string;
  /** [from events, in rollups] per counter that differs. */
  counters: Record<string, [number, number]>;
}

export interface ReconcileResult {
  from: string;
  to: string;
  /** The watermark the comparison was made at (xid8 as text). */
  watermark: string;
  /** Rolled-up events in the window, recomputed from usage_events. */
  events: number;
  groups: number;
  differences: RollupDifference[];
}

const COUNTERS = ['events', 'failures', 'denied', 'duration_ms', 'input_tokens', 'output_tokens'] as const;

/**
 * Recomputes the rollups of the hours in [from, to) from usage_events (the events below the
 * watermark, i.e. those the rollup has taken) and compares them row by row with usage_rollups.
 * Runs in one REPEATABLE READ snapshot, so a rollup committing meanwhile cannot cause a false
 * difference. Invariant: `differences` is empty.
 */
export async function reconcileUsage(db: Db, window: { from: Date; to: Date }): Promise<ReconcileResult> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const w = await sql<{ watermark: string }>`SELECT watermark::text AS watermark FROM rollup_state WHERE id = 1`.execute(trx);
      const watermark = w.rows[0]!.watermark;
      const rows = await sql<Record<string, unknown>>`
        WITH e AS (
          SELECT tenant_id, environment, date_trunc('hour', occurred_at, 'UTC') AS hour, kind,
                 coalesce(server, '') AS server, coalesce(tool, '') AS tool,
                 count(*) AS events, count(*) FILTER (WHERE NOT success) AS failures, count(*) FILTER (WHERE denied) AS denied,
                 coalesce(sum(duration_ms), 0) AS duration_ms, coalesce(sum(input_tokens), 0) AS input_tokens,
                 coalesce(sum(output_tokens), 0) AS output_tokens
            FROM usage_events
           WHERE txid < ${watermark}::xid8 AND occurred_at >= ${window.from} AND occurred_at < ${window.to}
           GROUP BY 1, 2, 3, 4, 5, 6
        ), r AS (
          SELECT * FROM usage_rollups WHERE hour >= ${window.from} AND hour < ${window.to}
        )
        SELECT coalesce(e.tenant_id, r.tenant_id) AS tenant_id, coalesce(e.environment, r.environment) AS environment,
               coalesce(e.hour, r.hour) AS hour, coalesce(e.kind, r.kind) AS kind,
               coalesce(e.server, r.server) AS server, coalesce(e.tool, r.tool) AS tool,
               coalesce(e.events, 0) AS e_events, coalesce(r.events, 0) AS r_events,
               coalesce(e.failures, 0) AS e_failures, coalesce(r.failures, 0) AS r_failures,
               coalesce(e.denied, 0) AS e_denied, coalesce(r.denied, 0) AS r_denied,
               coalesce(e.duration_ms, 0) AS e_duration_ms, coalesce(r.duration_ms, 0) AS r_duration_ms,
               coalesce(e.input_tokens, 0) AS e_input_tokens, coalesce(r.input_tokens, 0) AS r_input_tokens,
               coalesce(e.output_tokens, 0) AS e_output_tokens, coalesce(r.output_tokens, 0) AS r_output_tokens
          FROM e FULL JOIN r USING (tenant_id, environment, hour, kind, server, tool)`.execute(trx);
      let events = 0;
      const differences: RollupDifference[] = [];
      for (const row of rows.rows) {
        events += Number(row.e_events);
        const counters: Record<string, [number, number]> = {};
        for (const c of COUNTERS) {
          const a = Number(row[`e_${c}`]);
          const b = Number(row[`r_${c}`]);
          if (a !== b) counters[c] = [a, b];
        }
        if (Object.keys(counters).length) {
          differences.push({
            tenant_id: String(row.tenant_id),
            environment: String(row.environment),
            hour: (row.hour as Date).toISOString(),
            kind: String(row.kind),
            server: String(row.server),
            tool: String(row.tool),
            counters,
          });
        }
      }
      return { from: window.from.toISOString(), to: window.to.toISOString(), watermark, events, groups: rows.rows.length, differences };
    });
}
