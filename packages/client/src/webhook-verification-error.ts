export type WebhookVerificationErrorCode = 'missing_headers' | 'invalid_signature' | 'timestamp_out_of_tolerance' | 'invalid_secret' | 'invalid_payload';

/** Thrown by verifyWebhook; branch on `code`. Answer 400/401 and do not process the event. */
export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}
