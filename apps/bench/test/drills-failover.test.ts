/**
 * The short failover drill (issue 21; `npx tsx scripts/drill.ts redis-failover` runs the full one):
 * a master of the stack's own Redis Cluster (3 masters + 3 replicas) is SIGKILLed under a load of
 * two-step jobs; its replica is promoted, and every invariant the drill checks must hold.
 */
import { DRILLS } from '../src';

// The short drill takes 40-70 s; the bound is for a cluster that never recovers (its waits are longer).
jest.setTimeout(300_000);

test('redis-failover: replica promoted, nothing lost, nothing done twice, usage exact', async () => {
  const r = await DRILLS['redis-failover']!('short');
  expect(r.problems).toEqual([]);
  expect(r.accepted).toBeGreaterThan(0);
  expect(r.notes.promoted_after_s).not.toBe('never');
  expect({ lost: r.lost, duplicated: r.duplicated, usageMismatches: r.usageMismatches }).toEqual({ lost: 0, duplicated: 0, usageMismatches: 0 });
});
