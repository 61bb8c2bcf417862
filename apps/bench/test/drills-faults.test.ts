/**
 * Short versions of the process-fault drills (issue #11; `npx tsx scripts/drill.ts` runs the full
 * ones): a worker crash storm, an API crash under load, and hostile input mixed with normal
 * traffic. Real processes, Redis and Postgres; every invariant the drill checks must hold.
 */
import { DRILLS } from '../src';

// Each short drill takes 10-20 s; the bound is for a drill whose system never recovers (its waits are longer).
jest.setTimeout(240_000);

test.each(['worker-crash-storm', 'api-crash', 'poison-input'])('%s: nothing lost, nothing done twice, usage exact', async (name) => {
  const r = await DRILLS[name]!('short');
  expect(r.problems).toEqual([]);
  expect(r.accepted).toBeGreaterThan(0);
  expect({ lost: r.lost, duplicated: r.duplicated, usageMismatches: r.usageMismatches }).toEqual({ lost: 0, duplicated: 0, usageMismatches: 0 });
});
