import type { z } from 'zod';
import type { ProviderError } from './provider-error';
import type { ProviderDefinition, ProviderObject, SimulateAction, ToolContext } from './types';

/** Which signature a provider's outbound webhooks carry (see webhook-signing.ts). */
export type WebhookScheme = 'stripe' | 'asaas' | 'melhor-envio' | 'sandbox-hmac';

/** A simulation control: finds the object in the caller's partition, moves its state, emits events. */
export type SimulationHandler = (ctx: ToolContext, id: string) => ProviderObject;

/** The public definition plus what only the state store needs (errors, simulations, webhook scheme). */
export interface ProviderModule {
  definition: ProviderDefinition;
  /** The provider's 401 for a missing or malformed credential; never mentions the value. */
  unauthorized(): ProviderError;
  /** The provider's answer to arguments that fail the input schema. */
  invalidInput(issues: readonly z.core.$ZodIssue[]): ProviderError;
  simulations: Partial<Record<SimulateAction, SimulationHandler>>;
  webhookScheme: WebhookScheme;
}

/** `a.b[0].c` from a zod issue path, for provider error fields. */
export function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
