import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { decryptSecret, encryptSecret, rewrapDataKey, unwrapDataKey } from '@agents/vault';
import { tenantDataKey } from './tenant-data-key';
import type { MasterKeyring } from '@agents/vault';
import type { Db } from './connection';
import type { CredentialsTable, Environment } from './schema';
import { param, prepare } from './prepared';
import type { Selectable } from 'kysely';

export interface CredentialSummary {
  server: string;
  environment: Environment;
  fields: string[];
  updated_at: string;
}

export interface CredentialStore {
  /** Seals and stores the values; the version changes so pooled connections using old values are dropped. */
  put(tenantId: string, server: string, environment: Environment, values: Record<string, string>): Promise<void>;
  /** Decrypted values for the runtime's transport; never for a response, a log or a prompt. */
  get(tenantId: string, server: string, environment: Environment): Promise<{ values: Record<string, string>; version: string } | null>;
  /** Field names only. */
  list(tenantId: string): Promise<CredentialSummary[]>;
  remove(tenantId: string, server: string, environment: Environment): Promise<boolean>;
  /** Re-wraps every tenant data key with the ring's active master key; secrets are untouched. */
  rotateMasterKey(): Promise<number>;
}

/** Postgres-backed credential storage with per-tenant envelope encryption (packages/vault). */
/** The sealed values and the tenant's wrapped data key in one read (once per job and server). */
const sealedCredential = prepare<
  { tenant_id: string; server: string; environment: Environment },
  Pick<Selectable<CredentialsTable>, 'sealed' | 'version'> & { kid: string | null; wrapped: string | null }
>('sealed_credential', (db) =>
  db
    .selectFrom('credentials')
    .leftJoin('tenant_data_keys', 'tenant_data_keys.tenant_id', 'credentials.tenant_id')
    .select(['credentials.sealed', 'credentials.version', 'tenant_data_keys.kid', 'tenant_data_keys.wrapped'])
    .where('credentials.tenant_id', '=', param('tenant_id'))
    .where('credentials.server', '=', param('server'))
    .where('credentials.environment', '=', param('environment')),
);

export function createCredentialStore(db: Db, ring: MasterKeyring): CredentialStore {
  const dataKey = (tenantId: string, create: boolean) => tenantDataKey(db, ring, tenantId, create);

  return {
    async put(tenantId, server, environment, values) {
      const dek = (await dataKey(tenantId, true))!;
      const sealed = encryptSecret(dek, values, { tenantId, server, environment });
      const version = randomBytes(8).toString('hex');
      await db
        .insertInto('credentials')
        .values({ tenant_id: tenantId, server, environment, sealed: JSON.stringify(sealed), fields: Object.keys(values).sort(), version })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'server', 'environment']).doUpdateSet({
            sealed: JSON.stringify(sealed),
            fields: Object.keys(values).sort(),
            version,
            updated_at: sql<Date>`now()`,
          }),
        )
        .execute();
    },
    async get(tenantId, server, environment) {
      // One read for the sealed values and the tenant's wrapped data key (once per job and server).
      const row = await sealedCredential.first(db, { tenant_id: tenantId, server, environment });
      if (!row || row.kid === null || row.wrapped === null) return null;
      const dek = unwrapDataKey(ring, tenantId, { kid: row.kid, wrapped: row.wrapped });
      return { values: decryptSecret(dek, row.sealed, { tenantId, server, environment }), version: row.version };
    },
    async list(tenantId) {
      const rows = await db
        .selectFrom('credentials')
        .select(['server', 'environment', 'fields', 'updated_at'])
        .where('tenant_id', '=', tenantId)
        .orderBy('server')
        .orderBy('environment')
        .execute();
      return rows.map((r) => ({ server: r.server, environment: r.environment, fields: r.fields, updated_at: r.updated_at.toISOString() }));
    },
    async remove(tenantId, server, environment) {
      const r = await db
        .deleteFrom('credentials')
        .where('tenant_id', '=', tenantId)
        .where('server', '=', server)
        .where('environment', '=', environment)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async rotateMasterKey() {
      const rows = await db.selectFrom('tenant_data_keys').selectAll().where('kid', '!=', ring.activeKid).execute();
      for (const row of rows) {
        const next = rewrapDataKey(ring, row.tenant_id, { kid: row.kid, wrapped: row.wrapped });
        await db
          .updateTable('tenant_data_keys')
          .set({ kid: next.kid, wrapped: next.wrapped, rotated_at: sql<Date>`now()` })
          .where('tenant_id', '=', row.tenant_id)
          .where('kid', '=', row.kid)
          .execute();
      }
      return rows.length;
    },
  };
}
