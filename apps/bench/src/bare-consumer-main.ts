// Baseline of the pipeline benchmark, in its own process: a bare BullMQ Worker that fetches and
// completes `n` jobs (no-op processor) from one queue, then prints its own CPU for that work as
// JSON. `node --import tsx bare-consumer-main.ts <redisUrl> <prefix> <queue> <n>`
import { Worker } from 'bullmq';

const [redisUrl, prefix, queue, n] = process.argv.slice(2);
const total = Number(n);
let done = 0;
let cpu0: NodeJS.CpuUsage | undefined;
const worker = new Worker(
  queue!,
  async () => {
    cpu0 ??= process.cpuUsage();
    return null;
  },
  { connection: { url: redisUrl }, prefix, concurrency: 16 },
);
worker.on('completed', () => {
  if (++done === total) {
    const u = process.cpuUsage(cpu0);
    process.stdout.write(`${JSON.stringify({ jobs: done, cpu_s: (u.user + u.system) / 1e6 })}\n`);
    void worker.close().then(() => process.exit(0));
  }
});
