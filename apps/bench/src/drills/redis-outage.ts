import type { DrillResult } from '../drill-result';
import { dependencyOutage } from './dependency-outage';
import type { OutageOptions } from './dependency-outage';

/** Drill 3: the drill's own redis-server is shut down under load and started again (AOF kept). */
export function redisOutage(opts: OutageOptions): Promise<DrillResult> {
  return dependencyOutage('redis', opts);
}
