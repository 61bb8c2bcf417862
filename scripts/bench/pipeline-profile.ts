/**
 * Profile of the pipeline benchmark's load (issue #11):
 * `npx tsx scripts/bench/pipeline-profile.ts [jobs=3000] [tenants=100] [slots=50] [top=30]`
 *
 * Workers under `node --cpu-prof` (top self-time functions and areas, load window only) and the
 * private Postgres cluster under pg_stat_statements (every statement with calls and time per job).
 * See apps/bench/src/benchmarks/pipeline-profile.ts.
 */
import { runPipelineProfile } from '../../apps/bench/src';

const [jobs = 3000, tenants = 100, slots = 50, top = 30] = process.argv.slice(2).map(Number);
process.on('SIGINT', () => process.exit(130));

runPipelineProfile({ jobs, tenants, slots, top }).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
