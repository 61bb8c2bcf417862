/**
 * Fault drills (issue #11): `npx tsx scripts/drill.ts [--short] [drill ...]`
 *
 * Runs the seven drills (worker-crash-storm, api-crash, redis-outage, postgres-outage,
 * provider-outage, poison-input, redis-failover), each against its own redis-server on a spare
 * port (redis-failover: its own 3-master + 3-replica Redis Cluster, one master of which it kills),
 * its own database (a throwaway initdb cluster for the Postgres and failover drills), the sandbox,
 * and API + worker child processes; prints, per drill, jobs accepted, completed, lost, duplicated
 * side effects and usage mismatches (the last three must be 0) and exits 1 if any drill found a
 * problem. With TEST_REDIS_URL naming a Redis Cluster, the drills other than the two that stop or
 * kill Redis run on that cluster instead, each under a prefix of its own.
 * Needs redis-server on PATH and /usr/lib/postgresql/15/bin; the machine's Postgres on 5432.
 */
import { DRILLS, formatTable, runDrills } from '../apps/bench/src';
import type { DrillSize } from '../apps/bench/src';

// Ctrl-C / SIGTERM: exit normally so the children's exit-time cleanup runs.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

async function main() {
  const args = process.argv.slice(2);
  const size: DrillSize = args.includes('--short') ? 'short' : 'full';
  const names = args.filter((a) => !a.startsWith('--'));
  const chosen = names.length ? names : Object.keys(DRILLS);
  const results = await runDrills(chosen, size, (r) => console.log(`${r.name}: ${r.problems.length ? 'FAIL' : 'ok'} in ${r.seconds.toFixed(1)} s`));
  console.log(`\n${formatTable(results)}`);
  process.exit(results.some((r) => r.problems.length) ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
