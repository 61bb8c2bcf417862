import { newId } from '@agents/db';
import type { NewJob } from '@agents/db';

/** A queued one-step workflow job row of `tenant` as the API's job route builds it, with overrides. */
export function jobRow(tenant: string, over: Partial<NewJob> = {}): NewJob {
  return {
    id: newId('job'),
    tenant_id: tenant,
    environment: 'live',
    type: 'workflow',
    status: 'queued',
    input: null,
    steps: JSON.stringify([{ tool: 'asaas/list_customers', args: {} }]),
    servers: ['asaas'],
    metadata: JSON.stringify({ tenant_id: tenant }),
    callback_url: null,
    max_iterations: null,
    model: null,
    idempotency_key: null,
    request_hash: null,
    ...over,
  };
}
