import type { Migration } from '../migrator';

/**
 * The billing rollup's time horizon. `rollup_state.watermark` says which transactions are rolled
 * up; `usage_through` says up to which instant every event is (events whose occurred_at is before
 * it are in usage_rollups). Invoices carry it as `usage_through` and become `final` only once it
 * has passed their period's end, so a final invoice can never miss an event committed late.
 */
export const m0004RollupHorizon: Migration = {
  id: '0004-rollup-horizon',
  sql: `
ALTER TABLE rollup_state ADD COLUMN usage_through timestamptz;
-- Every rollup run adds into existing rows (ON CONFLICT DO UPDATE). Free space on each page lets
-- those updates stay HOT (no new primary-key entry per update), which keeps an incremental run
-- proportional to its new events rather than to index churn.
ALTER TABLE usage_rollups SET (fillfactor = 70);
`,
};
