import { Router } from 'express';
import type { Catalog } from '@agents/runtime';

/** GET /v1/servers: the catalog as tenants see it (no transport details: URLs and templates are ours). */
export function serverRoutes(catalog: Catalog): Router {
  const r = Router();
  r.get('/', (_req, res) => {
    res.json({
      data: catalog.list().map((e) => ({
        id: e.id,
        name: e.name,
        description: e.description,
        category: e.category,
        transport: e.transport.type,
        sandbox: e.sandbox,
        credential_fields: e.credential_fields,
        tools: e.tools.map((t) => ({ name: t.name, description: t.description })),
      })),
    });
  });
  return r;
}
