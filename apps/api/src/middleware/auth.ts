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

export interface PlatformKeyResolver {
  /** As TenantKeyResolver, for platform keys: undefined when unknown or revoked. */
  resolve(key: string, digest?: Buffer): Promise<{ environment: Environment; keyId: string } | undefined>;
}

/** The stores a presented key is looked up in, by its scheme; a kind left out is never accepted. */
export interface KeyResolvers {
  tenantKeys?: TenantKeyResolver;
  platformKeys?: PlatformKeyResolver;
}

/** Well-formed keys of each scheme (API.md: 32+ base62). Checked before any lookup, so garbage costs no cache entry or query. */
const TENANT_KEY = /^ak_(test|live)_[A-Za-z0-9]{32,}$/;
const PLATFORM_KEY = /^csk_(test|live)_[A-Za-z0-9]{32,}$/;

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

/** The principal a presented non-operator key is, or undefined when it is malformed, unknown or revoked. */
async function keyPrincipal(key: string, digest: Buffer, keys: KeyResolvers): Promise<Principal | undefined> {
  if (TENANT_KEY.test(key)) {
    const found = await keys.tenantKeys?.resolve(key, digest);
    return found && { kind: 'tenant', ...found };
  }
  if (PLATFORM_KEY.test(key)) {
    const found = await keys.platformKeys?.resolve(key, digest);
    return found && { kind: 'platform', ...found };
  }
  return undefined;
}

export function authenticate(operatorKey: string, keys: KeyResolvers) {
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
    const principal = await keyPrincipal(key, digest, keys);
    if (!principal) throw new ApiError('unauthorized', 'The API key is unknown or revoked.', undefined, bearerChallenge('invalid_token'));
    res.locals.principal = principal;
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
