/** Stable error codes thrown by this package (delivery outcomes are returned, not thrown). */
export type WebhookErrorCode = 'invalid_schedule' | 'invalid_secret' | 'invalid_input' | 'invalid_address';

export class WebhookError extends Error {
  readonly code: WebhookErrorCode;

  constructor(code: WebhookErrorCode, message: string) {
    super(message);
    this.name = 'WebhookError';
    this.code = code;
  }
}
