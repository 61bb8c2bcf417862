import { sql } from 'kysely';
import { decryptSecret, encryptSecret } from '@agents/vault';
import type { MasterKeyring } from '@agents/vault';
import type { Db } from './connection';
import { newId } from './ids';
import { tenantDataKey } from './tenant-data-key';

/** How long a rotated-out secret keeps signing beside the new one (Standard Webhooks rotation). */
export const WEBHOOK_SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

// Sealed like a credential, under a pseudo server name no catalog entry can take ("/" is not allowed in server ids).
const AAD = (tenantId: string) => ({ tenantId, server: 'webhook/signing', environment: 'live' });

export interface WebhookSecretStore {
  /** Stores `secret` (a `whsec_` value made by the caller) as the tenant's current signing secret. */
  add(tenantId: string, secret: string): Promise<void>;
  /** Makes `secret` current; the previous current secret keeps signing for 24 h. */
  rotate(tenantId: string, secret: string): Promise<void>;
  /** Secrets to sign with right now, newest first (two during a rotation's overlap). */
  signingSecrets(tenantId: string, now?: Date): Promise<string[]>;
}

export function createWebhookSecretStore(db: Db, ring: MasterKeyring): WebhookSecretStore {
  async function insert(trxDb: Db, tenantId: string, secret: string) {
    const dek = (await tenantDataKey(db, ring, tenantId, true))!;
    await trxDb
      .insertInto('webhook_secrets')
      .values({ id: newId('whs'), tenant_id: tenantId, sealed: JSON.stringify(encryptSecret(dek, { secret }, AAD(tenantId))) })
      .execute();
  }
  return {
    add: (tenantId, secret) => insert(db, tenantId, secret),
    async rotate(tenantId, secret) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('webhook_secrets')
          .set({ expires_at: sql<Date>`now() + make_interval(secs => ${WEBHOOK_SECRET_OVERLAP_MS / 1000})` })
          .where('tenant_id', '=', tenantId)
          .where('expires_at', 'is', null)
          .execute();
        // A secret retired earlier than the overlap stops now, so at most two ever sign.
        await trx
          .updateTable('webhook_secrets')
          .set({ expires_at: sql<Date>`now()` })
          .where('tenant_id', '=', tenantId)
          .where('expires_at', '>', sql<Date>`now()`)
          .where('created_at', '<', sql<Date>`(SELECT max(created_at) FROM webhook_secrets WHERE tenant_id = ${tenantId})`)
          .execute();
        await insert(trx as unknown as Db, tenantId, secret);
      });
    },
    async signingSecrets(tenantId, now = new Date()) {
      const rows = await db
        .selectFrom('webhook_secrets')
        .select(['sealed'])
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('created_at', 'desc')
        .limit(2)
        .execute();
      if (!rows.length) return [];
      const dek = (await tenantDataKey(db, ring, tenantId, false))!;
      return rows.map((r) => decryptSecret(dek, r.sealed, AAD(tenantId)).secret!);
    },
  };
}
