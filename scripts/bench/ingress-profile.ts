/**
 * Profile of the ingress benchmark's load:
 * `npx tsx scripts/bench/ingress-profile.ts [seconds=10] [connections=50] [tenants=10] [top=30]`
 *
 * The API bundle under `node --cpu-prof` (top self-time functions and areas, measured run only) and
 * a private Postgres cluster under pg_stat_statements (every statement with its calls per request).
 * See apps/bench/src/benchmarks/ingress-profile.ts.
 */
import { runIngressProfile } from '../../apps/bench/src';

const [seconds = 10, connections = 50, tenants = 10, top = 30] = process.argv.slice(2).map(Number);
process.on('SIGINT', () => process.exit(130));

runIngressProfile({ seconds, connections, tenants, top }).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
