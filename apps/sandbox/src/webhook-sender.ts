import type { PreparedWebhook } from '@agents/sandbox-providers';
import type { Logger } from '@agents/observability';

/** Provider webhooks are fire-and-forget; a receiver slower than this (ms) is abandoned. */
const WEBHOOK_TIMEOUT_MS = 2000;

export interface WebhookSender {
  send(webhooks: readonly PreparedWebhook[]): void;
  /** Resolves when every POST started so far has finished or timed out. */
  drain(): Promise<void>;
}

/**
 * Sends signed webhooks in order (e.g. PAYMENT_CONFIRMED before PAYMENT_RECEIVED) without ever
 * blocking or failing the caller: `post` never rejects.
 */
export function createWebhookSender(opts: { logger: Logger; timeoutMs?: number }): WebhookSender {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const inFlight = new Set<Promise<void>>();

  async function post(w: PreparedWebhook): Promise<void> {
    try {
      const res = await fetch(w.url, { method: 'POST', headers: w.headers, body: w.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      opts.logger.debug({ event: w.event, status: res.status }, 'sandbox webhook delivered');
    } catch (err) {
      opts.logger.warn({ event: w.event, err: err instanceof Error ? err.message : String(err) }, 'sandbox webhook failed');
    }
  }

  // One chain per destination URL: an account's events arrive in the order they happened, even
  // across calls, while different receivers do not wait for each other.
  const chains = new Map<string, Promise<void>>();

  return {
    send(webhooks) {
      for (const w of webhooks) {
        const prev = chains.get(w.url) ?? Promise.resolve();
        const next = prev.then(() => post(w));
        chains.set(w.url, next);
        inFlight.add(next);
        void next.finally(() => {
          inFlight.delete(next);
          if (chains.get(w.url) === next) chains.delete(w.url);
        });
      }
    },
    async drain() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
