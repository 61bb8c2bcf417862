import { SandboxError } from './provider-error';
import type { ProviderObject, ToolContext } from './types';

/** The object with this id among the given types in the caller's partition, else a 404 SandboxError. */
export function findForSimulation(ctx: ToolContext, types: readonly string[], id: string): { type: string; obj: ProviderObject } {
  for (const type of types) {
    const obj = ctx.find(type, id);
    if (obj) return { type, obj };
  }
  throw new SandboxError('not_found', `No object '${id}' in this account.`, 404);
}

export function invalidTransition(id: string, from: unknown, action: string): SandboxError {
  return new SandboxError('invalid_state_transition', `Cannot apply '${action}' to '${id}' in status '${String(from)}'.`, 400);
}
