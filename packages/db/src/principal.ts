import type { Environment } from './schema';

/**
 * Who is calling, as the API's authentication decided it: the operator (every tenant, both
 * environments) or one tenant key (its tenant, its environment). Here rather than in apps/api so the
 * domain packages (jobs) take it from the adapters without importing an app.
 */
export type Principal = { kind: 'operator' } | { kind: 'tenant'; tenantId: string; environment: Environment; keyId: string };
