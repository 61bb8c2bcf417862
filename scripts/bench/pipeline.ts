/**
 * Pipeline benchmark (issue #11): `npx tsx scripts/bench/pipeline.ts [jobs=5000] [tenants=100] [slots=50] [bareN=2000] [toolCalls=2]`
 *
 * N two-step workflow jobs across T tenants through api + 2 workers + sandbox (each its own
 * process, on a private Redis and a private Postgres cluster), end to end. Prints jobs/s, CPU ms
 * per job by process (api, workers, sandbox, Redis, Postgres; from /proc), the bare costs of the
 * same work measured in the same run, and the ratio (goal ≤ 1.5). toolCalls > 2 appends balance reads to
 * each job (docs/scaling.md fits per-job and per-tool-call costs from two runs). Also prints the
 * Postgres WAL and table bytes per job. See apps/bench/src/benchmarks/pipeline.ts.
 *
 * `--cluster` (issue 21): the same pipeline on one redis-server, then on a private Redis Cluster
 * (3 masters + 3 replicas, scripts/redis-cluster.mjs) in the same run; prints both throughputs and
 * the ratio cluster ÷ one Redis (goal ≥ 0.7). `npx tsx scripts/bench/pipeline.ts --cluster [jobs] [tenants] [slots]`
 */
import { runPipelineBench, runPipelineClusterBench } from '../../apps/bench/src';

const args = process.argv.slice(2);
const cluster = args.includes('--cluster');
const [jobs = 5000, tenants = 100, slots = 50, bareN = 2000, toolCalls = 2] = args.filter((a) => !a.startsWith('--')).map(Number);
process.on('SIGINT', () => process.exit(130));

(cluster ? runPipelineClusterBench({ jobs, tenants, slots }) : runPipelineBench({ jobs, tenants, slots, bareN, toolCalls })).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
