import type { ModelProvider } from '@agents/agent';
import type { ModelBudget } from '@agents/queue';

/**
 * A ModelProvider whose every `complete()` first takes a grant from the process-wide model budget
 * (MODEL_CALLS_PER_MINUTE; fair round-robin over the tenants waiting) for `tenantId`, the tenant of
 * the job it is made for (the job runner makes one per attempt). Passed explicitly rather than
 * through AsyncLocalStorage, whose promise hooks would tax every promise of every job.
 */
export function budgetedModel(provider: ModelProvider, budget: ModelBudget, tenantId: string): ModelProvider {
  return {
    id: provider.id,
    async complete(req, opts) {
      await budget.acquire(tenantId, opts?.signal);
      return provider.complete(req, opts);
    },
  };
}
