/**
 * The served OpenAPI document: generated from zod, valid per a maintained linter (Redocly CLI,
 * offline), and covering every route of the binding contract (../shared/API.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApi } from '@agents/api';
import type { ApiServer } from '@agents/api';
import { silentLogger } from '@agents/observability';
import { createTestDatabase, flushPrefix, testConfig, testRedisPrefix } from '@agents/testkit';
import type { TestDatabase } from '@agents/testkit';

const APP = path.resolve(__dirname, '..');
const ROOT = path.resolve(APP, '../..');
// API.md lives in shared/ beside the checkout (a read-only copy in CI).
const API_MD = [path.resolve(ROOT, '../shared/API.md'), path.resolve(ROOT, '../../shared/API.md')].find((p) => existsSync(p));

let tdb: TestDatabase;
let prefix: string;
let api: ApiServer;
let doc: any;

beforeAll(async () => {
  tdb = await createTestDatabase('openapi');
  prefix = testRedisPrefix();
  api = await startApi(testConfig({ DATABASE_URL: tdb.url, REDIS_PREFIX: prefix }), silentLogger(), { port: 0 });
  const res = await fetch(`${api.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
});

afterAll(async () => {
  await api?.close();
  await tdb?.close();
  await flushPrefix(prefix);
});

test('is OpenAPI 3.1 and passes `redocly lint` (offline, no telemetry)', () => {
  expect(doc.openapi).toMatch(/^3\.1\./);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'openapi-'));
  try {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const run = spawnSync(path.join(APP, 'node_modules/.bin/redocly'), ['lint', file, '--config', path.join(APP, 'redocly.yaml'), '--format=stylish'], {
      cwd: APP,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    });
    const out = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) throw new Error(`redocly lint failed:\n${out}`);
    expect(out).toMatch(/valid/i);
    // Only the two public health probes may lack a 4xx response; nothing else may warn.
    const warnings = out.split('\n').filter((l) => /warning/i.test(l) && /\d+:\d+/.test(l));
    for (const w of warnings) expect(w).toMatch(/operation-4xx-response/);
    expect(warnings.length).toBeLessThanOrEqual(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Routes of API.md, parsed from the contract text ("GET /v1/admin/tenants/{id}", "`POST /hooks/...`", "· `DELETE …`"). */
function routesOfApiMd(md: string): string[] {
  const found = new Set<string>();
  for (const m of md.matchAll(/\b(GET|POST|PUT|PATCH|DELETE)\s+`?(\/(?:v1|hooks)\/[^\s`?]*|\/(?:healthz|readyz|metrics))/g)) {
    // "POST …/approvals/{id}/approve|deny" names two routes.
    const [, method, route] = m as unknown as [string, string, string];
    const trimmed = route.replace(/\.+$/, '');
    const alternatives = /\/([\w-]+(?:\|[\w-]+)+)$/.exec(trimmed);
    if (alternatives) for (const last of alternatives[1]!.split('|')) found.add(`${method} ${trimmed.slice(0, alternatives.index)}/${last}`);
    else found.add(`${method} ${trimmed}`);
  }
  // The `.../v1/admin/tenants/{id}/api-keys` shorthand in API.md spans a line break; add it explicitly.
  found.add('GET /v1/admin/tenants/{id}/api-keys');
  return [...found].sort();
}

// The contract's routes are kept in the repo (a clone without shared/ still checks them); where
// API.md sits beside the checkout (always in CI), the list must still match it exactly.
const CONTRACT_ROUTES: string[] = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/api-md-routes.json'), 'utf8'));
// The contract's routes an open issue has yet to build, each with that issue. The only exemption
// from "has every route"; it shrinks to empty as the issues land.
const PLANNED: Record<string, string> = JSON.parse(readFileSync(path.join(__dirname, 'fixtures/planned-routes.json'), 'utf8'));

test('the in-repo route list matches API.md', () => {
  if (API_MD) expect(CONTRACT_ROUTES).toEqual(routesOfApiMd(readFileSync(API_MD, 'utf8')));
  expect(CONTRACT_ROUTES.length).toBeGreaterThanOrEqual(24);
});

function documentedRoutes(): Set<string> {
  const documented = new Set<string>();
  for (const [p, ops] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${normalise(p)}`);
  }
  return documented;
}
const normalise = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
const normaliseRoute = (r: string) => `${r.split(' ')[0]} ${normalise(r.split(' ')[1]!)}`;

test('has every route of API.md but the planned ones', () => {
  const documented = documentedRoutes();
  const missing = CONTRACT_ROUTES.filter((r) => !(r in PLANNED) && !documented.has(normaliseRoute(r)));
  expect(missing).toEqual([]);
});

test('the planned list names only contract routes not built yet, each with its issue', () => {
  const documented = documentedRoutes();
  for (const [route, issue] of Object.entries(PLANNED)) {
    expect(CONTRACT_ROUTES).toContain(route);
    expect(issue).toMatch(/^#\d+ \S/);
    // A route that is served and documented leaves the list.
    expect({ route, documented: documented.has(normaliseRoute(route)) }).toEqual({ route, documented: false });
  }
});

test('request schemas are the validators: unknown fields are refused in the document too', () => {
  const body = doc.paths['/v1/admin/tenants'].post.requestBody.content['application/json'].schema;
  const schema = body.$ref ? doc.components.schemas[body.$ref.split('/').pop()] : body;
  expect(schema.additionalProperties).toBe(false);
  expect(schema.required).toEqual(expect.arrayContaining(['id', 'servers']));
  expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
});

test('GET /docs renders a reference page from local assets (no CDN)', async () => {
  const res = await fetch(`${api.url}/docs/`);
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toMatch(/swagger-ui/);
  expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"']*\.(js|css)/);
  const init = await fetch(`${api.url}/docs/swagger-ui-init.js`);
  expect(init.status).toBe(200);
  expect(await init.text()).toContain('/openapi.json');
  const bundle = await fetch(`${api.url}/docs/swagger-ui-bundle.js`);
  expect(bundle.status).toBe(200);
  await bundle.arrayBuffer();
});
