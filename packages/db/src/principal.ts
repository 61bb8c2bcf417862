import type { Environment } from './schema';

/**
 * Who is calling, as the API's authentication decided it: the operator (every tenant, both
 * environments), one tenant key (its tenant, its environment) or a platform key (every tenant, its
 * environment). Here rather than in apps/api so the domain packages (jobs) take it from the
 * adapters without importing an app.
 */
export type Principal =
  | { kind: 'operator' }
  | { kind: 'tenant'; tenantId: string; environment: Environment; keyId: string }
  | { kind: 'platform'; environment: Environment; keyId: string };

/**
 * The one environment this caller is bound to (everything it writes is stamped with it, everything
 * it reads is filtered by it), or undefined for the operator, who sees both and names one.
 * Routes ask this rather than the kind, so a new kind of key is decided here once.
 */
export function environmentScope(p: Principal): Environment | undefined {
  switch (p.kind) {
    case 'operator':
      return undefined;
    case 'tenant':
    case 'platform':
      return p.environment;
  }
}

/**
 * Whether this caller may act as `tenantId` at all (before the tenant's existence is checked): a
 * tenant key only as its own tenant, the operator and platform keys as any. A refusal must answer
 * exactly as an unknown tenant does.
 */
export function mayActAsTenant(p: Principal, tenantId: string): boolean {
  switch (p.kind) {
    case 'operator':
    case 'platform':
      return true;
    case 'tenant':
      return p.tenantId === tenantId;
  }
}
