import { Router } from 'express';
import { z } from 'zod';
import { getTenant, insertApiKey, listApiKeys, newId, revokeApiKey } from '@agents/db';
import type { ApiKey, Db, Tenant } from '@agents/db';
import { ApiError } from '../errors';
import { apiKeyId, environment, tenantId } from '../schemas';
import { generateApiKey } from '../hashed-keys';
import type { TenantKeys } from '../tenant-keys';
import { parseOrThrow } from '../validation';

export const createApiKeyBody = z.strictObject({
  environment,
  name: z.string().min(1).max(200).optional(),
});

/** The public key record (no key, no hash), for tenant and platform keys alike. */
export function presentApiKey(k: Pick<ApiKey, 'id' | 'environment' | 'name' | 'prefix' | 'created_at' | 'last_used_at'>) {
  return {
    id: k.id,
    environment: k.environment,
    name: k.name,
    prefix: k.prefix,
    created_at: k.created_at.toISOString(),
    last_used_at: k.last_used_at ? k.last_used_at.toISOString() : null,
  };
}

export interface AdminApiKeyDeps {
  db: Db;
  tenantKeys: TenantKeys;
}

/** /v1/admin/tenants/{id}/api-keys: issue (shown once), list (prefixes only), revoke. */
export function adminApiKeyRoutes(deps: AdminApiKeyDeps): Router {
  const r = Router({ mergeParams: true });

  async function tenant(raw: unknown): Promise<Tenant> {
    const id = tenantId.safeParse(raw);
    const t = id.success ? await getTenant(deps.db, id.data) : undefined;
    if (!t) throw new ApiError('tenant_not_found', 'No such tenant.');
    return t;
  }

  r.post('/', async (req, res) => {
    const t = await tenant((req.params as Record<string, string>).id);
    const b = parseOrThrow(createApiKeyBody, req.body ?? {}, 'body');
    const issued = generateApiKey('ak', b.environment);
    const row = await insertApiKey(deps.db, {
      id: newId('key'),
      tenant_id: t.id,
      environment: b.environment,
      name: b.name ?? null,
      prefix: issued.prefix,
      key_hash: issued.hash,
    });
    res.status(201).json({ ...presentApiKey(row), key: issued.key });
  });

  r.get('/', async (req, res) => {
    const t = await tenant((req.params as Record<string, string>).id);
    res.json({ data: (await listApiKeys(deps.db, t.id)).map(presentApiKey), has_more: false });
  });

  r.delete('/:key_id', async (req, res) => {
    const t = await tenant((req.params as Record<string, string>).id);
    const keyId = apiKeyId.safeParse(req.params.key_id);
    const hash = keyId.success ? await revokeApiKey(deps.db, t.id, keyId.data) : undefined;
    if (!hash) throw new ApiError('not_found', 'No such API key.');
    await deps.tenantKeys.invalidate(hash);
    res.status(204).end();
  });
  return r;
}
