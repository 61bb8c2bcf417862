import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors';
import { secretEquals } from '../middleware/auth';

/**
 * HTTP Basic for the browser-facing ops pages (API.md: any user name, the operator key as the
 * password). Anything else is 401 with a challenge so the browser asks for credentials.
 */
export function operatorBasicAuth(operatorKey: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(req.get('authorization') ?? '');
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0 || !secretEquals(decoded.slice(colon + 1), operatorKey)) {
      throw new ApiError('unauthorized', 'Operator credentials required (HTTP Basic, the operator key as password).', undefined, {
        'WWW-Authenticate': 'Basic realm="operations", charset="UTF-8"',
      });
    }
    next();
  };
}
