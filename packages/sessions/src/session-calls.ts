import { performance } from 'node:perf_hooks';
import { deleteUnfinishedSessionCall, finishSessionCall, getSessionCall, insertSessionCall, newId } from '@agents/db';
import type { Db, SessionRow, SessionToolResult } from '@agents/db';
import type { JobEventHub } from '@agents/jobs';
import type { Logger } from '@agents/observability';
import type { Producer } from '@agents/queue';
import { resolveToolName } from '@agents/runtime';
import type { Catalog } from '@agents/runtime';
import { SessionError } from './session-error';
import { LIST_TOOLS, sessionTools } from './session-tools';
import { toolCallRequest } from './tool-call-request';

/** How long a request waits for its call's worker (ms): under the SDK's own 60 s per request. */
export const SESSION_CALL_WAIT_MS = 55_000;
/** Re-read of the call's row while waiting (ms), in case its notification was lost (pub/sub is at most once). */
const BACKSTOP_POLL_MS = 1_000;

export interface SessionCallsDeps {
  db: Db;
  producer: Pick<Producer, 'enqueueSessionCall'>;
  /** This process's fan-out of "row X changed" notifications (the job-event hub: a call is queued work too). */
  events: Pick<JobEventHub, 'watch'>;
  catalog: Pick<Catalog, 'get'>;
  logger: Logger;
  waitMs?: number;
}

export interface SessionCalls {
  /** Runs one execute of an active session in a worker and answers its ToolResult (tool failures included). */
  execute(session: SessionRow, body: unknown): Promise<SessionToolResult>;
}

/**
 * The API half of a session's tool call. The call is stored (its input stays in Postgres, never in
 * Redis), this process subscribes to its notifications, then the call is queued on the tenant's
 * queue; a worker runs it (quota, metering, credentials are the worker's) and stores the answer
 * with the usage row; the request answers from the stored row. The built-in `codespar_list_tools`
 * is answered here from the catalog: it reaches no provider and is not a billed call.
 */
export function createSessionCalls(deps: SessionCallsDeps): SessionCalls {
  const waitMs = deps.waitMs ?? SESSION_CALL_WAIT_MS;

  async function waitForResult(id: string, session: SessionRow) {
    const tenantId = session.tenant_id;
    let wake: () => void = () => undefined;
    // Set by a notification: one that arrives while the row is being read must not be slept through.
    let changed = false;
    let closed = false;
    const unwatch = await deps.events.watch(id, {
      changed: () => ((changed = true), wake()),
      closed: () => ((closed = true), wake()),
    });
    try {
      try {
        await deps.producer.enqueueSessionCall({ call_id: id, session_id: session.id, tenant_id: tenantId });
      } catch (err) {
        // Not queued: nothing ran and nothing will (a late run finds no row); the caller answers 503.
        await deleteUnfinishedSessionCall(deps.db, id).catch(() => undefined);
        throw err;
      }
      const deadline = performance.now() + waitMs;
      // Read when told the row changed, or every second in case the message was lost.
      for (;;) {
        if (!changed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, Math.min(deadline - performance.now(), BACKSTOP_POLL_MS)));
            wake = () => (clearTimeout(timer), resolve());
          });
        }
        changed = false;
        const row = await getSessionCall(deps.db, id);
        if (row?.result) return row.result;
        if (performance.now() >= deadline || closed) break;
      }
    } finally {
      unwatch();
    }
    // Given up: the refusal is stored as the call's answer unless a worker stored one first (first
    // writer wins), so a call that had not started never runs after its client was told it failed.
    const message = `No worker finished the call within ${Math.round(waitMs / 1000)} s. If it had not started it will not run; if it had, its outcome is in the usage log as ${id}.`;
    const final = await finishSessionCall(deps.db, id, { refused: { code: 'service_unavailable', message } }, undefined);
    if (!('refused' in final)) return final;
    deps.logger.warn({ tool_call_id: id, tenant_id: tenantId }, 'session call not finished in time; given up');
    return final;
  }

  return {
    async execute(session, body) {
      const started = performance.now();
      const req = toolCallRequest(body);
      if (req.name === LIST_TOOLS) {
        return {
          success: true,
          data: { tools: sessionTools(deps.catalog, session) },
          error: null,
          error_code: null,
          duration: Math.round(performance.now() - started),
          server: 'codespar',
          tool: LIST_TOOLS,
          tool_call_id: newId('tc'),
          called_at: new Date().toISOString(),
        };
      }
      const id = newId('tc');
      // For the row's readers only: the worker resolves the name itself, through the session's own table.
      const named = resolveToolName(req.name, session.servers);
      await insertSessionCall(deps.db, {
        id,
        session_id: session.id,
        tenant_id: session.tenant_id,
        environment: session.environment,
        server: named.server,
        tool: req.name,
        input: req.input,
      });
      const result = await waitForResult(id, session);
      if ('refused' in result) {
        const retry = result.refused.code === 'service_unavailable' ? { 'Retry-After': '5' } : undefined;
        throw new SessionError(result.refused.code, result.refused.message, undefined, retry);
      }
      return result;
    },
  };
}
