import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { HelmetOptions } from 'helmet';

export interface SecurityHeaderSet {
  /** Headers helmet sets, in its order, with their values. */
  set: ReadonlyArray<readonly [string, string]>;
  /** Headers helmet removes (X-Powered-By). */
  removed: readonly string[];
}

/**
 * The headers helmet sends with `options`, read once by running its middleware against a
 * recording response. With static options (no per-request CSP nonces: functions as directive
 * values are refused here) helmet's output does not depend on the request, so it can be computed
 * once instead of rebuilt by helmet's fourteen middlewares (and its CSP string) on every request.
 */
export function helmetHeaderSet(options?: HelmetOptions): SecurityHeaderSet {
  const csp = options?.contentSecurityPolicy;
  const directives = csp && typeof csp === 'object' ? Object.values(csp.directives ?? {}) : [];
  if (directives.some((v) => typeof v === 'function' || (Array.isArray(v) && v.some((x) => typeof x === 'function'))))
    throw new Error('a CSP directive computed per request cannot be precomputed; use helmet itself');
  const set = new Map<string, string>();
  const removed: string[] = [];
  const recorder = {
    setHeader(name: string, value: unknown) {
      if (typeof value !== 'string') throw new Error(`helmet header ${name} is not a fixed string`);
      set.set(name, value);
    },
    removeHeader(name: string) {
      set.delete(name);
      removed.push(name);
    },
  };
  let done = false;
  helmet(options)({} as Request, recorder as unknown as Response, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  // helmet's middlewares are synchronous; anything else (e.g. a directive computed per request) is not supported here.
  if (!done) throw new Error('helmet did not finish synchronously: its headers depend on the request');
  return { set: [...set], removed };
}

/**
 * The same options without CSP's `upgrade-insecure-requests`: over plain HTTP that directive makes
 * a browser fetch every asset of the page (Swagger UI at /docs) over https, which a plain-HTTP
 * host does not serve, so the page stays blank. It is only sent to requests that came over TLS.
 */
function withoutUpgradeInsecureRequests(options?: HelmetOptions): HelmetOptions | undefined {
  const csp = options?.contentSecurityPolicy;
  if (csp === false) return options;
  const base = csp && typeof csp === 'object' ? csp : {};
  return { ...options, contentSecurityPolicy: { ...base, directives: { ...(base.directives ?? {}), upgradeInsecureRequests: null } } };
}

/** Whether a request came over TLS: Express's `req.secure` (honours `trust proxy`), else the socket itself (the submission fast path has no Express request). */
function isSecure(req: Request): boolean {
  const secure = (req as { secure?: boolean }).secure;
  return secure ?? Boolean((req.socket as { encrypted?: boolean } | undefined)?.encrypted);
}

/**
 * helmet's headers, computed once at start-up and set on every response passing through: helmet's
 * exact set over TLS, and the same without CSP's `upgrade-insecure-requests` over plain HTTP.
 */
export function securityHeaders(options?: HelmetOptions) {
  const tls = helmetHeaderSet(options);
  const plain = helmetHeaderSet(withoutUpgradeInsecureRequests(options));
  return (req: Request, res: Response, next: NextFunction) => {
    const { set, removed } = isSecure(req) ? tls : plain;
    for (let i = 0; i < set.length; i++) res.setHeader(set[i]![0], set[i]![1]);
    for (let i = 0; i < removed.length; i++) res.removeHeader(removed[i]!);
    next();
  };
}
