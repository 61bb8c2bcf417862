import { verifyAsaasToken } from './asaas-token';
import { verifyMelhorEnvioSignature } from './melhor-envio-signature';
import type { HeaderReader, SignatureCheck } from './signature-result';
import { verifyStripeSignature } from './stripe-signature';

/** Servers whose webhooks we accept, each with its provider's own authentication scheme. */
export const INBOUND_WEBHOOK_SERVERS = ['stripe', 'asaas', 'melhor-envio'] as const;
export type InboundWebhookServer = (typeof INBOUND_WEBHOOK_SERVERS)[number];

export function isInboundWebhookServer(server: string): server is InboundWebhookServer {
  return (INBOUND_WEBHOOK_SERVERS as readonly string[]).includes(server);
}

export interface VerifyProviderWebhookInput {
  server: InboundWebhookServer;
  header: HeaderReader;
  rawBody: Buffer;
  /** The tenant's `webhook_secret` credential for this server and environment. */
  secret: string;
  nowMs: number;
}

/** Checks a webhook against the provider's scheme (Stripe-Signature, asaas-access-token, X-ME-Signature). */
export function verifyProviderWebhook(input: VerifyProviderWebhookInput): SignatureCheck {
  switch (input.server) {
    case 'stripe':
      return verifyStripeSignature({ header: input.header('stripe-signature'), rawBody: input.rawBody, secret: input.secret, nowMs: input.nowMs });
    case 'asaas':
      return verifyAsaasToken({ header: input.header('asaas-access-token'), secret: input.secret });
    case 'melhor-envio':
      return verifyMelhorEnvioSignature({ header: input.header('x-me-signature'), rawBody: input.rawBody, secret: input.secret });
  }
}
