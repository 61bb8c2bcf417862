/**
 * Every error the API returns has a stable code; this table is the one place that maps codes to
 * HTTP statuses (API.md "Conventions").
 */
export const ERROR_STATUS = {
  unauthorized: 401,
  forbidden: 403,
  tenant_not_found: 404,
  not_found: 404,
  validation_failed: 400,
  invalid_json: 400,
  model_not_allowed: 400,
  payload_too_large: 413,
  // Refused by Node's HTTP parser before routing (apps/api/src/client-error.ts).
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_media_type: 415,
  server_not_allowed: 422,
  idempotency_key_reused: 422,
  job_not_cancellable: 409,
  tenant_exists: 409,
  rate_limited: 429,
  quota_exceeded: 429,
  service_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

export function errorBody(err: ApiError) {
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
}
