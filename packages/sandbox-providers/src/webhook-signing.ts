import { createHmac } from 'node:crypto';
import type { WebhookScheme } from './provider-module';
import type { PreparedWebhook, WebhookConfig } from './types';

/**
 * Signs an outbound webhook the way each provider does:
 * - stripe: `Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 * - asaas: the configured secret itself in `asaas-access-token` (Asaas sends the auth token, no HMAC)
 * - melhor-envio: `X-ME-Signature: <base64 HMAC-SHA256(secret, body)>`
 * - sandbox-hmac (correios, nuvem-fiscal, z-api: their real APIs sign nothing):
 *   `X-Sandbox-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` plus `X-Sandbox-Event`.
 */
export function prepareWebhook(scheme: WebhookScheme, config: WebhookConfig, event: string, payload: Record<string, unknown>, now: Date): PreparedWebhook {
  const body = JSON.stringify(payload);
  const t = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'agents-sandbox/1.0' };
  switch (scheme) {
    case 'stripe':
      headers['stripe-signature'] = `t=${t},v1=${hmacHex(config.secret, `${t}.${body}`)}`;
      break;
    case 'asaas':
      headers['asaas-access-token'] = config.secret;
      break;
    case 'melhor-envio':
      headers['x-me-signature'] = createHmac('sha256', config.secret).update(body).digest('base64');
      break;
    case 'sandbox-hmac':
      headers['x-sandbox-signature'] = `t=${t},v1=${hmacHex(config.secret, `${t}.${body}`)}`;
      headers['x-sandbox-event'] = event;
      break;
  }
  return { url: config.url, headers, body, event };
}

function hmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
