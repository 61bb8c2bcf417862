/**
 * A failure a provider would report. `code` is our stable snake_case code, `status` the HTTP status
 * the real provider answers with, `fields` the provider's own error fields (Stripe `type`/`param`,
 * Asaas `errors[]`, Melhor Envio `errors{}`...), merged into the `error` object of the tool result.
 */
export class ProviderError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: Record<string, unknown>;

  constructor(code: string, message: string, status: number, fields: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ProviderError';
    this.code = code;
    this.status = status;
    this.fields = fields;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { ...this.fields, code: this.code, message: this.message, status: this.status } };
  }
}

/**
 * A failure of the sandbox's own control surface (objects/simulate/webhook endpoints), not of a
 * provider. Codes: `unknown_server`, `not_found`, `invalid_action`, `invalid_state_transition`,
 * `validation_failed`.
 */
export class SandboxError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'SandboxError';
    this.code = code;
    this.status = status;
  }
}
