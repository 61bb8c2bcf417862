/**
 * Short versions of the outage drills (issue #11): the drill's own Redis server, its own Postgres
 * cluster, and the provider (sandbox) are each stopped under load and started again. The API
 * answers 503 service_unavailable fast while a backing service is down, a 503 leaves no row, and
 * every accepted job reaches a terminal state with exact usage.
 */
import { DRILLS } from '../src';

// Each short drill takes 10-20 s; the bound is for a drill whose system never recovers (its waits are longer).
jest.setTimeout(240_000);

test.each(['redis-outage', 'postgres-outage', 'provider-outage'])('%s: fast 503s, nothing half-written, nothing lost', async (name) => {
  const r = await DRILLS[name]!('short');
  expect(r.problems).toEqual([]);
  expect(r.accepted).toBeGreaterThan(0);
  expect({ lost: r.lost, duplicated: r.duplicated, usageMismatches: r.usageMismatches }).toEqual({ lost: 0, duplicated: 0, usageMismatches: 0 });
});
