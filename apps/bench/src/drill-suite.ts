import type { DrillResult } from './drill-result';
import { apiCrash } from './drills/api-crash';
import { redisOutage } from './drills/redis-outage';
import { postgresOutage } from './drills/postgres-outage';
import { providerOutage } from './drills/provider-outage';
import { poisonInput } from './drills/poison-input';
import { workerCrashStorm } from './drills/worker-crash-storm';
import { redisFailover } from './drills/redis-failover';

/** `full` is the drill (minutes); `short` is what the test command runs (seconds each). */
export type DrillSize = 'short' | 'full';

/** The drills by name, each at either size. */
export const DRILLS: Record<string, (size: DrillSize) => Promise<DrillResult>> = {
  'worker-crash-storm': (size) =>
    size === 'full' ? workerCrashStorm({ jobs: 2000, tenants: 20, killEveryMs: 3000 }) : workerCrashStorm({ jobs: 120, tenants: 5, killEveryMs: 1000 }),
  'api-crash': (size) =>
    size === 'full' ? apiCrash({ jobs: 2000, tenants: 20, killAfterAccepted: 600 }) : apiCrash({ jobs: 200, tenants: 5, killAfterAccepted: 60 }),
  'redis-outage': (size) =>
    size === 'full'
      ? redisOutage({ jobs: 5000, tenants: 20, downAfterMs: 5000, downForMs: 15_000 })
      : redisOutage({ jobs: 300, tenants: 5, downAfterMs: 1000, downForMs: 2500 }),
  'postgres-outage': (size) =>
    size === 'full'
      ? postgresOutage({ jobs: 5000, tenants: 20, downAfterMs: 5000, downForMs: 15_000 })
      : postgresOutage({ jobs: 300, tenants: 5, downAfterMs: 1000, downForMs: 2500 }),
  'provider-outage': (size) =>
    size === 'full'
      ? providerOutage({ jobs: 5000, tenants: 20, downAfterMs: 5000, downForMs: 10_000 })
      : providerOutage({ jobs: 300, tenants: 5, downAfterMs: 1000, downForMs: 2000 }),
  'poison-input': (size) =>
    size === 'full'
      ? poisonInput({ hostile: 1000, normal: 500, tenants: 20, slowClients: 20, checkLatency: true })
      : poisonInput({ hostile: 120, normal: 60, tenants: 5, slowClients: 2, checkLatency: false }),
  'redis-failover': (size) =>
    size === 'full' ? redisFailover({ jobs: 3000, tenants: 20, killAfterMs: 5000 }) : redisFailover({ jobs: 300, tenants: 6, killAfterMs: 2000 }),
};

/** Runs the named drills one after another (each on its own Redis, database and processes). */
export async function runDrills(names: string[], size: DrillSize, onResult?: (r: DrillResult) => void): Promise<DrillResult[]> {
  const out: DrillResult[] = [];
  for (const name of names) {
    const run = DRILLS[name];
    if (!run) throw new Error(`unknown drill "${name}"; known: ${Object.keys(DRILLS).join(', ')}`);
    const r = await run(size);
    onResult?.(r);
    out.push(r);
  }
  return out;
}
