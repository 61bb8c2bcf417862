import type { ErrorDetail } from '@agents/jobs';

/**
 * The refusals of the session routes: stable codes (API.md error table) and their HTTP statuses.
 * apps/api's ERROR_STATUS takes these entries as they are, so each code has one status.
 */
export const SESSION_ERROR_STATUS = {
  tenant_not_found: 404,
  session_not_found: 404,
  session_closed: 409,
  validation_failed: 400,
  server_not_allowed: 422,
  quota_exceeded: 429,
  service_unavailable: 503,
} as const;

export type SessionErrorCode = keyof typeof SESSION_ERROR_STATUS;

/** A refused session request; nothing was written for it (or, for a call, nothing billed). */
export class SessionError extends Error {
  readonly status: number;
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'SessionError';
    this.status = SESSION_ERROR_STATUS[code];
  }
}
