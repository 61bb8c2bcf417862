import { SandboxError } from './provider-error';
import type { ProviderModule } from './provider-module';
import { asaasModule } from './providers/asaas';
import { correiosModule } from './providers/correios';
import { melhorEnvioModule } from './providers/melhor-envio';
import { nuvemFiscalModule } from './providers/nuvem-fiscal';
import { stripeModule } from './providers/stripe';
import { zApiModule } from './providers/z-api';
import type { ProviderDefinition, ProviderId } from './types';

const MODULES: readonly ProviderModule[] = [stripeModule, correiosModule, nuvemFiscalModule, asaasModule, melhorEnvioModule, zApiModule];

/** The six sandbox providers, in catalog order. */
export const PROVIDERS: readonly ProviderDefinition[] = MODULES.map((m) => m.definition);

export const PROVIDER_IDS: readonly ProviderId[] = PROVIDERS.map((p) => p.id);

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

/** The provider definition, or undefined for an unknown id. */
export function getProvider(id: string): ProviderDefinition | undefined {
  return PROVIDERS.find((p) => p.id === id);
}

export function getProviderModule(id: string): ProviderModule {
  const m = MODULES.find((x) => x.definition.id === id);
  if (!m) throw new SandboxError('unknown_server', `Unknown sandbox server '${id}'.`, 404);
  return m;
}
