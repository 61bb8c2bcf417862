import { Router } from 'express';
import { z } from 'zod';
import { insertPlatformKey, listPlatformKeys, newId, revokePlatformKey } from '@agents/db';
import type { Db } from '@agents/db';
import { ApiError } from '../errors';
import { generateApiKey } from '../hashed-keys';
import type { PlatformKeys } from '../platform-keys';
import { apiKeyId } from '../schemas';
import { parseOrThrow } from '../validation';
import { createApiKeyBody, presentApiKey } from './admin-api-keys';

export const listPlatformKeysQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: apiKeyId.optional(),
});

export interface AdminPlatformKeyDeps {
  db: Db;
  platformKeys: PlatformKeys;
}

/**
 * /v1/admin/api-keys: platform keys (`csk_…`), issued (the key shown only in the 201), listed
 * newest first without keys, revoked (every API process refuses the key within a second).
 */
export function adminPlatformKeyRoutes(deps: AdminPlatformKeyDeps): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const b = parseOrThrow(createApiKeyBody, req.body ?? {}, 'body');
    const issued = generateApiKey('csk', b.environment);
    const row = await insertPlatformKey(deps.db, {
      id: newId('key'),
      environment: b.environment,
      name: b.name ?? null,
      prefix: issued.prefix,
      key_hash: issued.hash,
    });
    res.status(201).json({ ...presentApiKey(row), key: issued.key });
  });

  r.get('/', async (req, res) => {
    const q = parseOrThrow(listPlatformKeysQuery, req.query, 'query');
    const page = await listPlatformKeys(deps.db, { limit: q.limit, startingAfter: q.starting_after });
    if (!page) throw new ApiError('validation_failed', 'The request query is invalid.', [{ path: 'query.starting_after', message: 'no such API key' }]);
    res.json({ data: page.data.map(presentApiKey), has_more: page.hasMore });
  });

  r.delete('/:key_id', async (req, res) => {
    const keyId = apiKeyId.safeParse(req.params.key_id);
    const hash = keyId.success ? await revokePlatformKey(deps.db, keyId.data) : undefined;
    if (!hash) throw new ApiError('not_found', 'No such API key.');
    await deps.platformKeys.invalidate(hash);
    res.status(204).end();
  });
  return r;
}
