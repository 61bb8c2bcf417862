import { sql } from 'kysely';
import { Client } from 'pg';
import type { Db } from './connection';

/**
 * Postgres channel on which "a webhook delivery is due and not queued" is announced. NOTIFY inside
 * a transaction is sent only when it commits, so a listener is woken exactly when the outbox row
 * becomes visible, whichever process (worker, API cancel, redelivery) wrote it.
 */
export const DELIVERY_CHANNEL = 'webhook_deliveries';

export async function notifyDeliveryDue(db: Db): Promise<void> {
  await sql`SELECT pg_notify(${DELIVERY_CHANNEL}, '')`.execute(db);
}

export interface DeliveryListenerOptions {
  url: string;
  onNotify(): void;
  /** Wait before reconnecting after the connection drops, ms (the relay's poll covers the gap). */
  reconnectMs?: number;
  onError?(err: Error): void;
}

export interface DeliveryListener {
  close(): Promise<void>;
}

/** One dedicated connection LISTENing on DELIVERY_CHANNEL; reconnects until closed. */
export async function listenForDeliveries(opts: DeliveryListenerOptions): Promise<DeliveryListener> {
  let client: Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    const c = new Client({ connectionString: opts.url, keepAlive: true });
    c.on('notification', (msg) => {
      if (msg.channel === DELIVERY_CHANNEL) opts.onNotify();
    });
    const lost = (err?: Error) => {
      if (err) opts.onError?.(err);
      if (client !== c) return;
      client = undefined;
      c.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void connect().catch(() => lost()), opts.reconnectMs ?? 1000);
    };
    c.on('error', lost);
    c.on('end', () => lost());
    client = c;
    await c.connect();
    await c.query(`LISTEN ${DELIVERY_CHANNEL}`);
    // Anything committed while we were not listening is picked up by this wake-up.
    opts.onNotify();
  }

  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
