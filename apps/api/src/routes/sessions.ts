import { Router } from 'express';
import type { Response } from 'express';
import { countSessionToolCalls } from '@agents/db';
import type { CredentialStore, Db, Tenant } from '@agents/db';
import { errorEnvelope } from '@agents/jobs';
import { presentSession, sessionConnections } from '@agents/sessions';
import type { SendStreamItem, SessionAccess, SessionCalls, SessionMessages } from '@agents/sessions';
import type { Logger, TraceParent } from '@agents/observability';
import { ApiError } from '../errors';
import type { Catalog } from '@agents/runtime';
import { principalOf } from '../middleware/auth';

export interface SessionRoutesDeps {
  db: Db;
  access: SessionAccess;
  calls: SessionCalls;
  messages: SessionMessages;
  logger: Logger;
  catalog: Pick<Catalog, 'get'>;
  credentials: Pick<CredentialStore, 'list'>;
  /** The tenant's request rate limit (the session's tenant, in the caller's environment budget). */
  spend(res: Response, tenant: Tenant): Promise<void>;
}

/** /v1/sessions (API.md "Sessions (CodeSpar-compatible)"): HTTP in and out; @agents/sessions decides. */
export function sessionRoutes(deps: SessionRoutesDeps): Router {
  const r = Router();
  const { access } = deps;

  r.post('/', async (req, res) => {
    const view = await access.open(principalOf(res), req.body, (tenant) => deps.spend(res, tenant));
    res.status(201).json(view);
  });

  r.get('/:id', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json({ ...presentSession(session), tool_calls_count: await countSessionToolCalls(deps.db, session.id) });
  });

  r.get('/:id/connections', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json(await sessionConnections(deps, session));
  });

  r.post('/:id/execute', async (req, res) => {
    const { session, tenant } = await access.find(principalOf(res), req.params.id);
    await deps.spend(res, tenant);
    res.json(await deps.calls.execute(await access.use(session), req.body));
  });

  r.post('/:id/send', async (req, res) => {
    const principal = principalOf(res);
    const { session, tenant } = await access.find(principal, req.params.id);
    await deps.spend(res, tenant);
    // JSON unless the client asks for the stream only; one that accepts neither is refused.
    const kind = req.accepts(['application/json', 'text/event-stream']);
    if (!kind) throw new ApiError('not_acceptable', 'This route answers application/json or text/event-stream.');
    const active = await access.use(session);
    const trace = res.locals.trace as TraceParent | undefined;
    const origin = { requestId: res.locals.requestId as string, traceId: trace?.traceId, parentSpanId: trace?.parentSpanId };
    const started = await deps.messages.start(principal, active, req.body, origin);
    if ('refused' in started) return void res.status(started.refused.status).set(started.refused.headers).json(started.refused.body);
    res.set('X-Job-Id', started.jobId);
    // The client going away stops the wait, never the job: it finishes and stays readable at its job routes.
    const stop = new AbortController();
    res.on('close', () => stop.abort());

    if (kind === 'application/json') {
      const end = await deps.messages.result(active, started.jobId, stop.signal);
      if (!end) return;
      if (end.ok) return void res.json(end.result);
      return void res.status(end.status).json(errorEnvelope({ code: end.code, message: end.message }));
    }
    res.shouldKeepAlive = false;
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    try {
      for await (const item of deps.messages.stream(active, started.jobId, started.message, stop.signal)) res.write(sendFrame(item));
    } catch (err) {
      deps.logger.warn({ err: { message: (err as Error).message }, job_id: started.jobId }, 'session send stream ended by an error');
      res.write(
        sendFrame({
          kind: 'event',
          event: 'error',
          data: { type: 'error', error: 'internal', message: 'The stream broke; the job goes on: read it at its job routes.' },
        }),
      );
    }
    res.end();
  });

  r.delete('/:id', async (req, res) => {
    const { session } = await access.find(principalOf(res), req.params.id);
    await access.close(session);
    res.status(204).end();
  });

  return r;
}

/** CodeSpar's framing: `event: <name>` + one `data:` line, LF only (its parsers split on "\n\n" and need the event line). */
function sendFrame(item: SendStreamItem): string {
  if (item.kind === 'keep-alive') return ': keep-alive\n\n';
  return `event: ${item.event}\ndata: ${JSON.stringify(item.data)}\n\n`;
}
