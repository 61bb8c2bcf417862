/**
 * Sessions benchmark (issue #22): `npx tsx scripts/bench/sessions.ts [calls=300] [seconds=10] [sessions=50]`
 *
 * Session execute through the API, the tenant queue and a worker vs a bare MCP callTool; session
 * create vs job submission; all on the built bundles, in one run. See apps/bench/src/benchmarks/sessions.ts.
 */
import { runSessionsBench } from '../../apps/bench/src';

const [calls = 300, seconds = 10, sessions = 50] = process.argv.slice(2).map(Number);
process.on('SIGINT', () => process.exit(130));

runSessionsBench({ calls, seconds, sessions }).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
