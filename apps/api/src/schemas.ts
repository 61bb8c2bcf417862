import { z } from 'zod';
import { TENANT_ID } from '@agents/db';

/** The job body and its parts are the job domain's (@agents/jobs); the other routes reuse them. */
export { serverId, environment, workflowStep, idempotencyKey } from '@agents/jobs';

/** API.md: operator-chosen tenant ids (@agents/db's, which the domain packages check too). */
export { TENANT_ID };
export const tenantId = z.string().regex(TENANT_ID, `must match ${TENANT_ID.source}`);
export const jobId = z.string().regex(/^job_[0-9a-z]{26}$/, 'must be a job id (job_...)');
export const apiKeyId = z.string().regex(/^key_[0-9a-z]{26}$/, 'must be an API key id (key_...)');

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  // A job id: validated before it reaches SQL.
  starting_after: z
    .string()
    .regex(/^job_[0-9a-z]{26}$/, 'must be a job id (job_...)')
    .optional(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
});
