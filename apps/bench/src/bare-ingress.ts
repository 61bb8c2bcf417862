import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'pg';

export interface BareIngress {
  url: string;
  close(): Promise<void>;
}

/**
 * The benchmarks' baseline: the least an ingress can do per job — a bare Express handler that
 * parses the JSON body, does ONE Postgres insert (a job row of the same shape) and ONE BullMQ
 * `add`, and answers 202. No auth, validation, rate limit, quota or idempotency.
 */
export async function startBareIngress(opts: { dbUrl: string; redisUrl: string; prefix: string; port?: number }): Promise<BareIngress> {
  const pool = new Pool({ connectionString: opts.dbUrl, max: 10 });
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queues = new Map<string, Queue>();
  const queueOf = (tenant: string) => {
    let q = queues.get(tenant);
    if (!q) {
      q = new Queue(`bare.${tenant}`, { connection: redis, prefix: opts.prefix });
      queues.set(tenant, q);
    }
    return q;
  };
  const app = express();
  app.use(express.json());
  app.post('/v1/tenants/:tid/jobs', async (req, res) => {
    const id = `job_${randomUUID().replace(/-/g, '')}`;
    const tid = req.params.tid;
    await pool.query(
      `INSERT INTO jobs (id, tenant_id, environment, type, status, steps, servers, metadata) VALUES ($1, $2, 'live', 'workflow', 'queued', $3, $4, $5)`,
      [id, tid, JSON.stringify(req.body.steps ?? []), ['asaas'], JSON.stringify(req.body.metadata ?? {})],
    );
    await queueOf(tid).add('job.run', { job_id: id, tenant_id: tid }, { jobId: id });
    res.status(202).json({ id, status: 'queued' });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis.disconnect();
      await pool.end();
    },
  };
}
