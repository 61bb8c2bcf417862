import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { openApiDocument } from '../openapi/document';

/**
 * GET /openapi.json and GET /docs (Swagger UI served from node_modules: works offline, no CDN).
 * Public like the contract itself; the documented routes still need their keys.
 */
export function docsRoutes(): Router {
  const r = Router();
  r.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  r.use(
    '/docs',
    swaggerUi.serveFiles(undefined, { swaggerOptions: { url: '/openapi.json' } }),
    swaggerUi.setup(undefined, { customSiteTitle: 'Commerce agents API', swaggerOptions: { url: '/openapi.json' } }),
  );
  return r;
}
