import { Router } from 'express';
import { sql } from 'kysely';
import type { RedisConnection } from '@agents/queue';
import type { Db } from '@agents/db';

/** Bounded probe: a dependency that does not answer within `ms` counts as down (never hang a probe). */
export async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error('probe timeout')), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

export function healthRoutes(deps: { db: Db; redis: RedisConnection }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const [redis, postgres] = await Promise.all([
      within(1000, deps.redis.ping()).then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
      within(1000, sql`select 1`.execute(deps.db)).then(
        () => 'ok' as const,
        () => 'down' as const,
      ),
    ]);
    const ready = redis === 'ok' && postgres === 'ok';
    if (!ready) res.setHeader('Retry-After', '5');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks: { redis, postgres } });
  });
  return r;
}
