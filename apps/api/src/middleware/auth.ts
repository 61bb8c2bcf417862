import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Environment, Principal } from '@agents/db';
import { ApiError } from '../errors';

export type { Principal };

export interface TenantKeyResolver {
  /**
   * Looks a presented tenant key up by its hash; undefined when unknown or revoked. `digest`: the
   * key's SHA-256 when the caller has it already (authentication hashes every presented key once).
   */
  resolve(key: string, digest?: Buffer): Promise<{ tenantId: string; environment: Environment; keyId: string } | undefined>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretEquals(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/** The protection space of every bearer-authenticated route (`/v1`, `/metrics`). */
export const BEARER_REALM = 'api';

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3): no error code when the request carried
 * no credentials at all, `invalid_request` when the header is malformed, `invalid_token` when a
 * well-formed key is unknown or revoked. Every 401 of the API carries one (RFC 9110 §15.5.2).
 */
export function bearerChallenge(error?: 'invalid_request' | 'invalid_token', realm = BEARER_REALM): Record<string, string> {
  return { 'WWW-Authenticate': error ? `Bearer realm="${realm}", error="${error}"` : `Bearer realm="${realm}"` };
}

export function authenticate(operatorKey: string, tenantKeys: TenantKeyResolver | undefined) {
  // Hashed once: each request then hashes only the key it presents (secretEquals would hash both).
  const operatorDigest = sha256(operatorKey);
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    const m = BEARER.exec(header ?? '');
    if (!m)
      throw new ApiError(
        'unauthorized',
        'Missing or malformed Authorization header; expected "Bearer <key>".',
        undefined,
        bearerChallenge(header ? 'invalid_request' : undefined),
      );
    const key = m[1]!;
    const digest = sha256(key);
    if (timingSafeEqual(digest, operatorDigest)) {
      res.locals.principal = { kind: 'operator' } satisfies Principal;
      return next();
    }
    const found = /^ak_(test|live)_[A-Za-z0-9]{32,}$/.test(key) && tenantKeys ? await tenantKeys.resolve(key, digest) : undefined;
    if (!found) throw new ApiError('unauthorized', 'The API key is unknown or revoked.', undefined, bearerChallenge('invalid_token'));
    res.locals.principal = { kind: 'tenant', ...found } satisfies Principal;
    next();
  };
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

export function requireOperator(_req: Request, res: Response, next: NextFunction) {
  if (principalOf(res).kind !== 'operator') throw new ApiError('forbidden', 'This route needs the operator key.');
  next();
}
