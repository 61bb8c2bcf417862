import { AsyncLocalStorage } from 'node:async_hooks';
import type { ModelProvider } from '@agents/agent';
import type { ModelBudget, RunHandler } from '@agents/queue';

/** The tenant whose job the current async context is running (set around each job attempt). */
const currentTenant = new AsyncLocalStorage<string>();

/** Runs every job attempt inside its tenant's context, so budgetedModel knows whom a call is for. */
export function withTenantContext(handler: RunHandler): RunHandler {
  return (job, ctx) => currentTenant.run(ctx.tenantId, () => handler(job, ctx));
}

/**
 * A ModelProvider whose every `complete()` first takes a grant from the process-wide model budget
 * (MODEL_CALLS_PER_MINUTE; fair round-robin over the tenants waiting). The tenant comes from the
 * job context, so the agent loop needs no change; a call outside any job is budgeted as `_system`.
 */
export function budgetedModel(provider: ModelProvider, budget: ModelBudget): ModelProvider {
  return {
    id: provider.id,
    async complete(req, opts) {
      await budget.acquire(currentTenant.getStore() ?? '_system', opts?.signal);
      return provider.complete(req, opts);
    },
  };
}
