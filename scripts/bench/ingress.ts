/**
 * Ingress benchmark (issue #11): `npx tsx scripts/bench/ingress.ts [seconds=10] [connections=50] [tenants=10]`
 *
 * autocannon against ONE API process (apps/api/src/main.ts, a child process) doing the real
 * `POST /v1/tenants/{tid}/jobs`: tenant API-key auth, zod validation, the Redis rate-limit check,
 * the quota check, an Idempotency-Key per request, the job row, the BullMQ enqueue. Baseline in
 * the same run, on the same Postgres, Redis and machine: a bare Express process that does one
 * Postgres insert and one BullMQ add per request (apps/bench/src/bare-ingress.ts). Prints
 * req/s, p50/p99 latency, CPU per request of the server process (from /proc) and the ratios.
 */
import { runIngressBench } from '../../apps/bench/src';

const [seconds = 10, connections = 50, tenants = 10] = process.argv.slice(2).map(Number);
process.on('SIGINT', () => process.exit(130));

runIngressBench({ seconds, connections, tenants }).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
