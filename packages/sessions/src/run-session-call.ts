import { finishSessionCall, getSession, getSessionCall } from '@agents/db';
import type { Db, NewUsageEvent, SessionCallResult, TenantCache } from '@agents/db';
import { toolCallUsageEvent } from '@agents/jobs';
import type { JobEventNotifier } from '@agents/jobs';
import type { Logger } from '@agents/observability';
import { QuotaExceededError } from '@agents/queue';
import type { HandlerContexts, JobPayload } from '@agents/queue';
import type { ToolResult } from '@agents/runtime';
import type { RuntimeSessionCache } from './runtime-session-cache';

/** CodeSpar's answer for a name no server of the session has (its `TOOL_NOT_REGISTERED` prefix). */
export const TOOL_NOT_REGISTERED = 'Tool not registered: ';

export interface SessionCallRunDeps {
  db: Db;
  tenants: Pick<TenantCache, 'get'>;
  sessions: RuntimeSessionCache;
  /** Tells the waiting API process that the call's row has its answer. */
  notifier: JobEventNotifier;
  logger: Logger;
}

export type SessionCallOutcome = { outcome: 'answered'; success: boolean } | { outcome: 'refused'; code: string } | { outcome: 'gone' };

/**
 * The `session.call` handler: one execute of a stored session, in a worker, on the tenant's queue
 * (so the tenant's slots and concurrency cap apply). The tenant's current servers bound the
 * session's; the runtime checks the name against them (a server outside the session is a denied,
 * metered call that reaches nothing), reserves the month's quota and calls the server with the
 * call's id as its idempotency key. The answer and its usage row are stored in one transaction,
 * first writer wins: a run that died after the provider answered is run again, the provider sees
 * the same key (no second object) and the usage key makes the second write a no-op.
 */
export function createSessionCallHandler(deps: SessionCallRunDeps) {
  async function store(callId: string, result: SessionCallResult, usage?: NewUsageEvent): Promise<SessionCallResult> {
    const stored = await finishSessionCall(deps.db, callId, result, usage);
    deps.notifier.changed(callId);
    return stored;
  }
  const refuse = async (callId: string, code: 'quota_exceeded' | 'tenant_not_found' | 'service_unavailable', message: string): Promise<SessionCallOutcome> => {
    await store(callId, { refused: { code, message } });
    return { outcome: 'refused', code };
  };

  return async ({ call_id, session_id, tenant_id }: JobPayload<'session.call'>, ctx: HandlerContexts['session.call']): Promise<SessionCallOutcome> => {
    // Three reads at once: the call, its session, its tenant (cached).
    const [call, session, tenant] = await Promise.all([getSessionCall(deps.db, call_id), getSession(deps.db, session_id), deps.tenants.get(tenant_id)]);
    // Dropped because it could not be queued, or its session's data was removed: nothing to do.
    if (!call) return { outcome: 'gone' };
    if (call.result) {
      // Answered by an earlier run whose notification may not have gone out.
      deps.notifier.changed(call_id);
      return 'refused' in call.result ? { outcome: 'refused', code: call.result.refused.code } : { outcome: 'answered', success: call.result.success };
    }
    if (ctx.stalledOut) {
      deps.logger.warn({ tool_call_id: call_id, tenant_id: call.tenant_id, reason: ctx.stalledOut }, 'session call failed after repeated stalls');
      return refuse(call_id, 'service_unavailable', 'The call was interrupted repeatedly (its worker stopped while running it); try again.');
    }
    if (!session || session.id !== call.session_id || session.tenant_id !== call.tenant_id || !tenant || tenant.id !== call.tenant_id || tenant.disabled)
      return refuse(call_id, 'tenant_not_found', 'No such tenant.');
    const runtimeSession = deps.sessions.get(
      session,
      session.servers.filter((s) => tenant.servers.includes(s)),
    );
    let result: ToolResult;
    try {
      result = await runtimeSession.execute(call.tool, call.input, { toolCallId: call.id, idempotencyKey: call.id, signal: ctx.signal });
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        return refuse(call_id, 'quota_exceeded', `The monthly tool-call quota (${err.limit}) of this tenant's ${call.environment} environment is spent.`);
      }
      // An infrastructure error: BullMQ runs the call again, and after the last try the waiting
      // request is told at once rather than at its deadline.
      if (ctx.attemptsMade + 1 >= ctx.maxAttempts && !ctx.signal.aborted) {
        await refuse(call_id, 'service_unavailable', 'A backing service is unavailable; retry shortly.').catch(() => undefined);
      }
      throw err;
    }
    // Shutdown or a lost lock: not an answer. Handed back, the call runs again elsewhere.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const { record: _record, ...answer } = result;
    if (answer.error_code === 'tool_not_found') answer.error = `${TOOL_NOT_REGISTERED}${call.tool}`;
    const stored = await store(call_id, answer, toolCallUsageEvent(result, { idempotencyKey: call.id, jobId: null, sessionId: call.session_id }));
    return 'refused' in stored ? { outcome: 'refused', code: stored.refused.code } : { outcome: 'answered', success: stored.success };
  };
}
