import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Request handlers run as one, the way an Express route runs its handlers: in order, each one's
 * `next()` calling the following one; a throw, a rejected promise (a falsy reason becomes
 * `Error('Rejected promise')`) or `next(value)` with any truthy value ('route' included) leaves the
 * chain through `done(value)`, and `done()` follows the last handler. One router layer then
 * dispatches what would otherwise be one layer per handler.
 */
export function chain(...handlers: RequestHandler[]) {
  return (req: Request, res: Response, done: NextFunction) => new ChainRun(handlers, req, res, done).next();
}

/**
 * One request's walk through the handlers. A class rather than closures: the TypeScript loader
 * keeps function names by redefining `name` on every named closure it creates, per request.
 */
class ChainRun {
  private i = 0;
  readonly next: NextFunction;

  constructor(
    private readonly handlers: RequestHandler[],
    private readonly req: Request,
    private readonly res: Response,
    private readonly done: NextFunction,
  ) {
    this.next = this.step.bind(this) as NextFunction;
  }

  private step(err?: unknown): void {
    if (err || this.i === this.handlers.length) return this.done(err);
    const handler = this.handlers[this.i++]!;
    try {
      const ret: unknown = handler(this.req, this.res, this.next);
      if (ret instanceof Promise) ret.then(undefined, (e: unknown) => this.next(e || new Error('Rejected promise')));
    } catch (e) {
      this.next(e);
    }
  }
}
