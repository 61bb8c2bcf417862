import { z } from 'zod';

/**
 * Typed job catalog shared by producers and consumers. Payloads carry ids only: the job row in
 * Postgres is the source of truth, and nothing a tenant typed (or any secret) sits in Redis or
 * shows in Bull Board. Keep schemas backward compatible with jobs already queued.
 */
export const jobCatalog = {
  'job.run': z.object({ job_id: z.string().min(1), tenant_id: z.string().min(1) }),
  // attempt: which attempt of the delivery this entry is (1-based); absent in entries queued before it existed.
  'webhook.deliver': z.object({ delivery_id: z.string().min(1), attempt: z.number().int().min(1).optional() }),
  'billing.rollup': z.object({}).passthrough(),
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]>;

export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobCatalog[name].parse(data) as JobPayload<N>;
}
