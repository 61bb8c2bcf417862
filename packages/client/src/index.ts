export { verifyWebhook } from './verify-webhook';
export type { VerifyWebhookOptions, WebhookHeaders } from './verify-webhook';
export { WebhookVerificationError } from './webhook-verification-error';
export type { WebhookVerificationErrorCode } from './webhook-verification-error';
export type { WebhookEvent } from './webhook-event';
