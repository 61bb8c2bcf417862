import type { DrillResult } from '../drill-result';
import { dependencyOutage } from './dependency-outage';
import type { OutageOptions } from './dependency-outage';

/** Drill 4: the drill's own Postgres cluster (throwaway initdb) is stopped under load (fast shutdown) and started again. */
export function postgresOutage(opts: OutageOptions): Promise<DrillResult> {
  return dependencyOutage('postgres', opts);
}
