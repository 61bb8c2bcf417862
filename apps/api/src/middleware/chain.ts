import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Request handlers run as one, the way an Express route runs its handlers: in order, each one's
 * `next()` calling the following one; a throw, a rejected promise (a falsy reason becomes
 * `Error('Rejected promise')`) or `next(value)` with any truthy value ('route' included) leaves the
 * chain through `done(value)`, and `done()` follows the last handler. One router layer then
 * dispatches what would otherwise be one layer per handler.
 */
export function chain(...handlers: RequestHandler[]) {
  return (req: Request, res: Response, done: NextFunction) => {
    let i = 0;
    const next = (err?: unknown) => {
      if (err || i === handlers.length) return done(err);
      const handler = handlers[i++]!;
      try {
        const ret: unknown = handler(req, res, next);
        if (ret instanceof Promise) ret.then(undefined, (e: unknown) => next(e || new Error('Rejected promise')));
      } catch (e) {
        next(e);
      }
    };
    next();
  };
}
